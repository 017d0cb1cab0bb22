"""Fixtures of the page tests: a small world (organization, staff, person) and helpers
that read a page's CSRF token and sign a TestClient in through the real forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.identity import service
from tsunagu.identity.models import Organization, Person, StaffUser

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class World:
    org: Organization
    admin: StaffUser
    member: StaffUser
    person: Person
    password: str = DEFAULT_PASSWORD


@pytest.fixture
def world(db: Session) -> World:
    org = create_org(db, name="つなぐ商店", kind="company")
    admin = create_staff(db, org, role="admin", display_name="佐藤 花子")
    member = create_staff(db, org, role="member")
    person = service.create_person(
        db,
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        email=f"taro-{org.slug}@example.jp",
        password=DEFAULT_PASSWORD,
    )
    person.postal_code = "100-0001"
    person.address = "東京都千代田区千代田1-1"
    db.commit()
    return World(org=org, admin=admin, member=member, person=person)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def sign_in_staff(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def sign_in_person(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> None:
    token = csrf_of(client.get("/portal/signin").text)
    response = client.post(
        "/portal/signin",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
