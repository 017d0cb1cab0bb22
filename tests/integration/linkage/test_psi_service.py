"""PSI against a collaboration: the platform answers for the provider's consenting customers
only, per exchange, with a ledger entry of counts; the recipient learns its matched members."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import Scenario, staff_actor
from tests.support.factories import create_org
from tsunagu.consent import service as consent_service
from tsunagu.core.settings import Settings
from tsunagu.identity.service import Actor
from tsunagu.ledger import service as ledger
from tsunagu.linkage import psi_service
from tsunagu.linkage.errors import CollaborationNotFound, DatasetMissing, NotParticipant
from tsunagu.linkage.models import Collaboration
from tsunagu.linkage.psi import InvalidPoint, PsiClient
from tsunagu.linkage.psi_service import PsiAnswer, PsiRequestInvalid, PsiRequestTooLarge
from tsunagu.vault.service import Vault

MEMBER_COLUMNS = ("id", "family_name", "given_name", "birth_date", "email", "phone")


@pytest.fixture
def sc(db: Session, vault: Vault) -> Scenario:
    return scenario.build(db, vault)


@pytest.fixture
def collab(db: Session, settings: Settings, sc: Scenario) -> Collaboration:
    collab = scenario.active(db, sc)
    scenario.uploaded(db, settings, sc, collab)
    return collab


def member_table(sc: Scenario) -> pa.Table:
    """The maker's member list as its own file would give it (raw, not normalised)."""
    rows = [orjson.loads(line) for line in sc.members_jsonl().splitlines()]
    return pa.table(
        {c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in MEMBER_COLUMNS}
    )


def exchange(
    db: Session,
    settings: Settings,
    vault: Vault,
    sc: Scenario,
    collab: Collaboration,
    actor: Actor | None = None,
) -> tuple[list[str], PsiAnswer]:
    """One PSI exchange as the recipient's client runs it; the matched member ids."""
    by_item = psi_service.member_items(member_table(sc))
    client = PsiClient(by_item)
    answer = psi_service.answer(
        db,
        settings,
        vault.pseudonym_key,
        actor=actor or staff_actor(sc.maker, "member"),
        collaboration_id=collab.id,
        points=client.request().points,
    )
    found = client.intersection(answer.response)
    return sorted({m for item in found for m in by_item[item]}), answer


class TestIntersection:
    def test_the_intersection_is_the_consenting_members(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        matched, _ = exchange(db, settings, vault, sc, collab)
        assert matched == [f"M{i:05d}" for i in scenario.LINKED]

    def test_a_non_consenting_customer_is_never_in_the_intersection(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        matched, _ = exchange(db, settings, vault, sc, collab)
        assert not {f"M{i:05d}" for i in range(12, scenario.PERSONS)} & set(matched)

    def test_the_server_offers_only_consenting_customers_items(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _, answer = exchange(db, settings, vault, sc, collab)
        # e-mail + birth date and phone + birth date of each of the 12 consenting customers
        assert len(answer.response.server_points) == 2 * len(scenario.CONSENTING)

    def test_a_withdrawn_consent_leaves_the_next_intersection(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        consent_service.withdraw_consent(
            db, vault.pseudonym_key, sc.consents[sc.persons[0].id], actor="person"
        )
        matched, _ = exchange(db, settings, vault, sc, collab)
        assert "M00000" not in matched

    def test_each_exchange_blinds_with_a_fresh_key(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _, first = exchange(db, settings, vault, sc, collab)
        _, second = exchange(db, settings, vault, sc, collab)
        assert not set(first.response.server_points) & set(second.response.server_points)


class TestLedger:
    def test_one_match_entry_with_method_psi_and_counts(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _, answer = exchange(db, settings, vault, sc, collab)
        (leaf,) = ledger.get_entries(db, answer.ledger_index, answer.ledger_index, 1)
        entry = orjson.loads(leaf)
        refs = entry["refs"]
        assert (entry["kind"], refs["method"], refs["consenting"], refs["server_points"]) == (
            "linkage.match",
            "psi",
            len(scenario.CONSENTING),
            2 * len(scenario.CONSENTING),
        )

    def test_the_entry_names_no_person(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _, answer = exchange(db, settings, vault, sc, collab)
        (leaf,) = ledger.get_entries(db, answer.ledger_index, answer.ledger_index, 1)
        entry = orjson.loads(leaf)
        assert (entry.get("subject"), entry.get("members")) == (None, None)


class TestRefusals:
    def test_the_customer_table_must_be_uploaded_first(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        bare = scenario.active(db, sc)
        with pytest.raises(DatasetMissing):
            exchange(db, settings, vault, sc, bare)

    def test_an_oversized_request_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        points = PsiClient([b"a", b"b", b"c", b"d"]).request().points
        with pytest.raises(PsiRequestTooLarge):
            psi_service.answer(
                db,
                settings,
                vault.pseudonym_key,
                actor=staff_actor(sc.maker, "member"),
                collaboration_id=collab.id,
                points=points,
                max_points=3,
            )

    def test_an_empty_request_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        with pytest.raises(PsiRequestInvalid):
            psi_service.answer(
                db,
                settings,
                vault.pseudonym_key,
                actor=staff_actor(sc.maker, "member"),
                collaboration_id=collab.id,
                points=[],
            )

    def test_a_value_that_is_not_a_point_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        with pytest.raises(InvalidPoint):
            psi_service.answer(
                db,
                settings,
                vault.pseudonym_key,
                actor=staff_actor(sc.maker, "member"),
                collaboration_id=collab.id,
                points=[b"\xff" * 32],
            )

    def test_the_provider_cannot_run_it(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        with pytest.raises(NotParticipant):
            exchange(db, settings, vault, sc, collab, actor=staff_actor(sc.retailer, "admin"))

    def test_another_organization_finds_nothing(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        outsider = staff_actor(create_org(db), "admin")
        with pytest.raises(CollaborationNotFound):
            exchange(db, settings, vault, sc, collab, actor=outsider)
