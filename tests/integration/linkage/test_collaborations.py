"""Collaborations: proposal, acceptance by each side's admin, frozen terms, expiry, ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import Scenario, staff_actor
from tests.support.factories import create_org
from tsunagu.consent.errors import UnknownPurpose
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.identity.errors import RoleTooLow
from tsunagu.ledger.models import LedgerEntry
from tsunagu.linkage import service
from tsunagu.linkage.errors import (
    AlreadyAccepted,
    CollaborationNotActive,
    CollaborationNotFound,
    InvalidAgreement,
    TermsChanged,
)
from tsunagu.vault.service import Vault


@pytest.fixture
def sc(db: Session, vault: Vault) -> Scenario:
    return scenario.build(db, vault)


def _kinds(db: Session) -> list[str]:
    return list(db.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.seq)))


class TestProposal:
    def test_a_proposal_waits_for_the_other_admin(self, db: Session, sc: Scenario) -> None:
        collab = scenario.proposed(db, sc)
        assert service.effective_status(collab) == "proposed"

    def test_the_proposers_acceptance_is_recorded(self, db: Session, sc: Scenario) -> None:
        collab = scenario.proposed(db, sc)
        accepted = {
            p.organization_id: p.accepted_version for p in service.participants_of(db, collab.id)
        }
        assert accepted == {sc.retailer.id: 1, sc.maker.id: None}

    def test_rules_get_the_default_minimum_group_size(self, db: Session, sc: Scenario) -> None:
        rules = {k: v for k, v in scenario.RULES.items() if k != "min_group_size"}
        collab = service.propose(
            db,
            actor=sc.retailer_admin,
            name="x",
            participants=[(sc.retailer.slug, "provider"), (sc.maker.slug, "recipient")],
            terms=service.Terms(
                purpose=scenario.PURPOSE,
                categories=("purchase",),
                rules=rules,
                expires_at=utcnow() + timedelta(days=1),
            ),
        )
        assert collab.rules["min_group_size"] == 50

    def test_a_member_cannot_propose(self, db: Session, sc: Scenario) -> None:
        with pytest.raises(RoleTooLow):
            service.propose(
                db,
                actor=staff_actor(sc.retailer, "member"),
                name="x",
                participants=[(sc.retailer.slug, "provider"), (sc.maker.slug, "recipient")],
                terms=scenario.terms(),
            )

    def test_an_expiry_in_the_past_is_refused(self, db: Session, sc: Scenario) -> None:
        with pytest.raises(InvalidAgreement):
            scenario.proposed(db, sc, expires_at=utcnow() - timedelta(days=1))

    @pytest.mark.parametrize(
        "rules",
        [
            {"dimensions": ["category", "email"]},
            {"require_noise": "false"},
            {"noise": "gauss"},
        ],
    )
    def test_rules_the_clean_room_could_not_use_are_refused_when_proposed(
        self, db: Session, sc: Scenario, rules: dict[str, object]
    ) -> None:
        with pytest.raises(InvalidAgreement, match="rules"):
            scenario.proposed(db, sc, rules=rules)

    def test_an_unknown_purpose_is_refused(self, db: Session, sc: Scenario) -> None:
        with pytest.raises(UnknownPurpose):
            scenario.proposed(db, sc, purpose="world-domination")

    def test_the_proposer_must_take_part(self, db: Session, sc: Scenario) -> None:
        outsider = create_org(db)
        with pytest.raises(InvalidAgreement):
            service.propose(
                db,
                actor=staff_actor(outsider, "admin"),
                name="x",
                participants=[(sc.retailer.slug, "provider"), (sc.maker.slug, "recipient")],
                terms=scenario.terms(),
            )


class TestAcceptance:
    def test_both_admins_accepting_activates(self, db: Session, sc: Scenario) -> None:
        collab = scenario.active(db, sc)
        assert service.effective_status(collab) == "active"

    def test_a_member_cannot_accept(self, db: Session, sc: Scenario) -> None:
        collab = scenario.proposed(db, sc)
        with pytest.raises(RoleTooLow):
            service.accept(db, actor=staff_actor(sc.maker, "member"), collaboration_id=collab.id)

    def test_an_outsider_cannot_see_it_to_accept(self, db: Session, sc: Scenario) -> None:
        collab = scenario.proposed(db, sc)
        with pytest.raises(CollaborationNotFound):
            service.accept(
                db, actor=staff_actor(create_org(db), "admin"), collaboration_id=collab.id
            )

    def test_accepting_twice_is_refused(self, db: Session, sc: Scenario) -> None:
        collab = scenario.proposed(db, sc)
        with pytest.raises(AlreadyAccepted):
            service.accept(db, actor=sc.retailer_admin, collaboration_id=collab.id)

    def test_amended_terms_need_everyone_again(self, db: Session, sc: Scenario) -> None:
        collab = scenario.active(db, sc)
        service.amend_terms(
            db, actor=sc.retailer_admin, collaboration_id=collab.id, terms=scenario.terms()
        )
        assert (collab.version, service.effective_status(collab)) == (2, "proposed")

    def test_accepting_a_superseded_version_is_refused(self, db: Session, sc: Scenario) -> None:
        collab = scenario.proposed(db, sc)
        service.amend_terms(
            db, actor=sc.retailer_admin, collaboration_id=collab.id, terms=scenario.terms()
        )
        with pytest.raises(TermsChanged):
            service.accept(db, actor=sc.maker_admin, collaboration_id=collab.id, version=1)


class TestExpiry:
    def test_an_expired_collaboration_refuses_uploads(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        collab.expires_at = utcnow() - timedelta(seconds=1)
        db.flush()
        with pytest.raises(CollaborationNotActive):
            service.upload_customers(
                db,
                settings,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                data=sc.customers_csv(),
            )

    def test_an_expired_collaboration_reads_as_expired(self, db: Session, sc: Scenario) -> None:
        collab = scenario.active(db, sc)
        assert service.effective_status(collab, collab.expires_at) == "expired"

    def test_a_proposed_collaboration_refuses_uploads(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.proposed(db, sc)
        with pytest.raises(CollaborationNotActive):
            service.upload_customers(
                db,
                settings,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                data=sc.customers_csv(),
            )

    def test_an_ended_collaboration_refuses_uploads(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        service.end(db, actor=sc.maker_admin, collaboration_id=collab.id)
        with pytest.raises(CollaborationNotActive):
            service.upload_customers(
                db,
                settings,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                data=sc.customers_csv(),
            )


class TestLedger:
    def test_proposal_and_acceptances_are_entries(self, db: Session, sc: Scenario) -> None:
        before = db.scalar(select(func.count()).select_from(LedgerEntry)) or 0
        scenario.active(db, sc)
        kinds = _kinds(db)[before:]
        assert kinds == [
            "linkage.proposed",
            "linkage.accepted",
            "linkage.accepted",
        ]

    def test_acceptance_names_its_ledger_entry(self, db: Session, sc: Scenario) -> None:
        collab = scenario.active(db, sc)
        indexes = [p.ledger_index for p in service.participants_of(db, collab.id)]
        assert all(i is not None for i in indexes)


class TestIsolation:
    def test_another_tenant_gets_not_found(self, db: Session, sc: Scenario) -> None:
        collab = scenario.active(db, sc)
        with pytest.raises(CollaborationNotFound):
            service.access_collaboration(db, create_org(db).id, collab.id)

    def test_lists_only_own_collaborations(self, db: Session, sc: Scenario) -> None:
        scenario.active(db, sc)
        assert service.list_collaborations(db, create_org(db).id) == []
