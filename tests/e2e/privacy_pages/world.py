"""The data of the privacy pages' tests, made with the consent and vault services:
an organization with an admin and a member, another organization, persons known by their
reference number, consents for two purposes (one withdrawn), open requests (one overdue)
and one APPI provision record (a record the other organization supplied, read by ours).

Used by the TestClient fixtures (``conftest.py``) and by the live server of the browser
tests, so both see the same world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.core.clock import utcnow
from tsunagu.identity.models import Organization, Person, StaffUser
from tsunagu.vault import service as vault_service
from tsunagu.vault.models import SubjectRequest

NOTICE = consent_service.Evidence(
    notice_text="ご案内のためにメールアドレスを利用します。", method="web-form"
)


@dataclass(frozen=True)
class PrivacyWorld:
    org: Organization
    other_org: Organization
    admin: StaffUser
    member: StaffUser
    person: Person
    second: Person
    request: SubjectRequest
    overdue: SubjectRequest
    other_request: SubjectRequest
    password: str = DEFAULT_PASSWORD


def _consent(
    db: Session, vault: vault_service.Vault, person: Person, org: Organization, purpose: str
) -> consent_service.Issued:
    return consent_service.give_consent(
        db,
        vault.pseudonym_key,
        person_id=person.id,
        recipient=org,
        purpose=purpose,
        categories=["contact.email"],
        evidence=NOTICE,
        actor="person",
        given_by="person",
    )


def build_privacy_world(
    db: Session, vault: vault_service.Vault, *, admin_locale: str | None = None
) -> PrivacyWorld:
    org = create_org(db, name="つなぐ商店", kind="company")
    other = create_org(db, name="べつの保険株式会社", kind="company")
    admin = create_staff(db, org, role="admin", display_name="佐藤 花子")
    if admin_locale is not None:
        admin.locale = admin_locale
    member = create_staff(db, org, role="member")
    person = vault_service.register_person(
        db, vault, org, ref="C-0001", family_name="山田", given_name="太郎", actor="test"
    )
    second = vault_service.register_person(
        db, vault, org, ref="C-0002", family_name="鈴木", given_name="次郎", actor="test"
    )
    vault_service.register_person(
        db, vault, other, ref="X-9", family_name="山田", given_name="太郎", actor="test"
    )
    _consent(db, vault, person, org, "marketing")
    _consent(db, vault, second, org, "marketing")
    withdrawn = _consent(db, vault, second, org, "customer-care")
    consent_service.withdraw_consent(db, vault.pseudonym_key, withdrawn.consent, actor="person")
    # the other organization supplied a record; our read of it is a provision (APPI art. 30)
    vault_service.create_record(
        db,
        vault,
        person_id=person.id,
        category="contact.email",
        payload={"email": "taro@example.jp"},
        source=other,
        source_kind="api",
        actor="test",
    )
    vault_service.read_records(
        db,
        vault,
        pdp.Reader(org.id, org.slug),
        person.id,
        purpose="marketing",
        categories=["contact.email"],
        actor=f"staff:{admin.id}",
    )
    request = vault_service.file_request(
        db,
        person_id=person.id,
        organization_id=org.id,
        kind="disclosure",
        detail="保有データの開示を求めます。",
    )
    overdue = vault_service.file_request(
        db,
        person_id=second.id,
        organization_id=org.id,
        kind="deletion",
        detail="退会したので削除してください。",
    )
    overdue.created_at = utcnow() - timedelta(days=20)
    overdue.due_at = utcnow() - timedelta(days=6)
    other_request = vault_service.file_request(
        db, person_id=person.id, organization_id=other.id, kind="correction"
    )
    db.flush()
    return PrivacyWorld(org, other, admin, member, person, second, request, overdue, other_request)
