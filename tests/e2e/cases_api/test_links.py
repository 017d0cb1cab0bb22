"""Links to persons, CRM deals and other cases.  What is shown about a linked person
passes the consent decision point (purpose ``customer-care``) and is a ledger entry."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem, project, tenant
from tests.integration.consent.conftest import give, last_entry
from tsunagu.cases.models import Project
from tsunagu.crm import service as crm_service
from tsunagu.identity.models import Person
from tsunagu.ledger import service as ledger
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault


def person(db: Session, vault: Vault, owner: Tenant, *, consent: bool) -> Person:
    made = vault_service.register_person(
        db,
        vault,
        owner.org,
        ref="C-0042",
        family_name="佐藤",
        given_name="花子",
        email="hanako@example.jp",
        actor="test",
    )
    if consent:
        give(db, vault, made.id, owner.org, "customer-care", ["contact.email"])
    db.commit()
    return made


def person_link(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    links = client.get(f"{CASES}/SUP-1", headers=headers).json()["links"]
    found: dict[str, Any] = next(link for link in links if link["kind"] == "person")
    return found


class TestCaseLinks:
    def test_a_case_link_by_key_is_kept_both_ways(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "一")
        case(db, owner, sup, "二")

        response = client.post(
            f"{CASES}/SUP-1/links", json={"kind": "case", "key": "SUP-2"}, headers=owner.member
        )

        assert response.status_code == 201, response.text
        assert response.json()["label"] == "SUP-2"
        back = client.get(f"{CASES}/SUP-2", headers=owner.member).json()["links"]
        assert [(link["kind"], link["label"]) for link in back] == [("case", "SUP-1")]

    def test_a_removed_link_is_gone(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "一")
        case(db, owner, sup, "二")
        link = client.post(
            f"{CASES}/SUP-1/links", json={"kind": "case", "key": "SUP-2"}, headers=owner.member
        ).json()

        response = client.delete(f"{CASES}/SUP-1/links/{link['id']}", headers=owner.member)

        assert response.status_code == 204
        assert client.get(f"{CASES}/SUP-1", headers=owner.member).json()["links"] == []

    def test_a_deal_link_shows_the_deals_name(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        deal = crm_service.create_entity(db, owner.org.id, ref="D-1", name="株式会社さくら")
        case(db, owner, sup, "x")
        db.commit()

        client.post(
            f"{CASES}/SUP-1/links", json={"kind": "deal", "id": str(deal.id)}, headers=owner.member
        )

        links = client.get(f"{CASES}/SUP-1", headers=owner.member).json()["links"]
        assert [(link["kind"], link["label"]) for link in links] == [("deal", "株式会社さくら")]

    def test_another_tenants_deal_is_not_linked(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        other = tenant(db)
        deal = crm_service.create_entity(db, other.org.id, ref="D-1", name="他社")
        case(db, owner, sup, "x")
        db.commit()

        response = client.post(
            f"{CASES}/SUP-1/links", json={"kind": "deal", "id": str(deal.id)}, headers=owner.member
        )

        problem(response, 404)

    def test_a_link_without_a_target_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(f"{CASES}/SUP-1/links", json={"kind": "deal"}, headers=owner.member)

        problem(response, 422)


class TestPersonLinks:
    def test_with_consent_the_name_and_email_are_shown(
        self, client: TestClient, db: Session, vault: Vault, owner: Tenant, sup: Project
    ) -> None:
        someone = person(db, vault, owner, consent=True)
        case(db, owner, sup, "x")
        client.post(
            f"{CASES}/SUP-1/links",
            json={"kind": "person", "id": str(someone.id)},
            headers=owner.member,
        )

        link = person_link(client, owner.member)

        assert link["disclosed"] is True
        assert (link["ref"], link["name"], link["email"]) == (
            "C-0042",
            "佐藤 花子",
            "hanako@example.jp",
        )

    def test_without_consent_only_the_id_and_reference_are_shown(
        self, client: TestClient, db: Session, vault: Vault, owner: Tenant, sup: Project
    ) -> None:
        someone = person(db, vault, owner, consent=False)
        case(db, owner, sup, "x")
        client.post(
            f"{CASES}/SUP-1/links",
            json={"kind": "person", "id": str(someone.id)},
            headers=owner.member,
        )

        link = person_link(client, owner.member)

        assert (link["targetId"], link["ref"], link["disclosed"]) == (
            str(someone.id),
            "C-0042",
            False,
        )
        assert (link["name"], link["email"]) == (None, None)

    def test_showing_a_linked_person_is_a_ledger_entry(
        self, client: TestClient, db: Session, vault: Vault, owner: Tenant, sup: Project
    ) -> None:
        someone = person(db, vault, owner, consent=False)
        case(db, owner, sup, "x")
        client.post(
            f"{CASES}/SUP-1/links",
            json={"kind": "person", "id": str(someone.id)},
            headers=owner.member,
        )
        size = ledger.tree_size(db)

        person_link(client, owner.member)

        db.expire_all()
        assert ledger.tree_size(db) == size + 1
        assert last_entry(db)["kind"] == "access.denied"

    def test_a_partner_key_sees_only_the_persons_id(
        self, client: TestClient, db: Session, vault: Vault, owner: Tenant
    ) -> None:
        partner = tenant(db)
        project(db, owner, "PRT", visibility="partner", partner_organization_id=partner.org.id)
        someone = person(db, vault, owner, consent=True)
        client.post(CASES, json={"project": "PRT", "summary": "共同"}, headers=owner.member)
        client.post(
            f"{CASES}/PRT-1/links",
            json={"kind": "person", "id": str(someone.id)},
            headers=owner.member,
        )

        links = client.get(f"{CASES}/PRT-1", headers=partner.member).json()["links"]

        assert [(link["targetId"], link["ref"], link["name"]) for link in links] == [
            (str(someone.id), None, None)
        ]

    def test_another_tenants_person_is_not_linked(
        self, client: TestClient, db: Session, vault: Vault, owner: Tenant, sup: Project
    ) -> None:
        someone = person(db, vault, tenant(db), consent=True)
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/links",
            json={"kind": "person", "id": str(someone.id)},
            headers=owner.member,
        )

        problem(response, 404)
