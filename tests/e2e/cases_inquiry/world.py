"""A small world for the inquiry tests: an organization whose support project ``SUP``
has its public form open with a consent notice in both languages, and staff to answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.cases import service
from tsunagu.cases.models import Project
from tsunagu.identity.models import Organization
from tsunagu.identity.service import Actor

NOTICE_JA = "お問い合わせへの回答のためにのみ、お名前とメールアドレスを利用します。"
NOTICE_EN = "We use your name and e-mail address only to answer your inquiry."


@dataclass(frozen=True)
class InquiryWorld:
    org: Organization
    owner: Actor
    project: Project
    form_url: str


def build_inquiry_world(db: Session, *, slug: str | None = None) -> InquiryWorld:
    org = create_org(db, slug=slug)
    user = create_staff(db, org, role="owner", display_name="窓口 太郎")
    owner = Actor(kind="staff", organization_id=org.id, role="owner", user_id=user.id)
    project = service.create_project(db, owner, key="SUP", name="サポート窓口")
    project.inquiry_enabled = True
    project.inquiry_notice_ja = NOTICE_JA
    project.inquiry_notice_en = NOTICE_EN
    db.flush()
    return InquiryWorld(org, owner, project, f"/inquiry/{org.slug}/SUP")
