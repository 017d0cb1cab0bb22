"""Fixtures of the notification tests: an organization with a project and three staff."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.integration.cases_notify.receivers import Inbox, smtp_server
from tests.support.factories import create_org, create_staff
from tsunagu.cases import service
from tsunagu.cases.models import Project
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor


def actor_of(user: StaffUser, org: Organization, role: str = "member") -> Actor:
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user.id)


@dataclass
class Team:
    org: Organization
    project: Project
    owner: StaffUser
    alice: StaffUser  # Japanese (default locale)
    bob: StaffUser  # English

    def actor(self, user: StaffUser) -> Actor:
        return actor_of(user, self.org, "owner" if user is self.owner else "member")


@pytest.fixture
def team(db: Session) -> Team:
    org = create_org(db)
    owner = create_staff(db, org, role="owner", display_name="管理 太郎")
    alice = create_staff(db, org, display_name="山田 花子")
    bob = create_staff(db, org, display_name="Bob Smith")
    bob.locale = "en"
    project = service.create_project(db, actor_of(owner, org, "owner"), key="SUP", name="サポート")
    service.set_member(db, actor_of(owner, org, "owner"), project, alice.id, "member")
    service.set_member(db, actor_of(owner, org, "owner"), project, bob.id, "member")
    db.flush()
    return Team(org, project, owner, alice, bob)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def mail_settings(settings: Settings, inbox: Inbox) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_from": "tsunagu@example.com",
            "public_base_url": "https://tsunagu.example.jp",
        }
    )
