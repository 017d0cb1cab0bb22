"""The clean room's service: who may ask, consent at query time, the ledger, the budget."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import Scenario, staff_actor
from tests.support.factories import create_org
from tsunagu.cleanroom import service
from tsunagu.cleanroom.endpoints import answer_out
from tsunagu.cleanroom.errors import QueryRefused
from tsunagu.consent import service as consent_service
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.ledger import service as ledger
from tsunagu.ledger.models import LedgerEntry
from tsunagu.linkage.errors import (
    BudgetExhausted,
    CollaborationNotActive,
    CollaborationNotFound,
    NotParticipant,
)
from tsunagu.linkage.models import Collaboration
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

BY_MEMBER = {"measures": ["persons", "orders"], "dimensions": ["member"]}
NOISY = {"measures": ["persons"], "dimensions": ["member"], "noise": True}


@pytest.fixture
def sc(db: Session, vault: Vault) -> Scenario:
    return scenario.build(db, vault)


@pytest.fixture
def collab(db: Session, settings: Settings, vault: Vault, sc: Scenario) -> Collaboration:
    collab, _ = scenario.matched(db, settings, vault, sc)
    return collab


def _ask(
    db: Session,
    settings: Settings,
    vault: Vault,
    sc: Scenario,
    collab: Collaboration,
    spec: Mapping[str, object] = BY_MEMBER,
) -> service.Answer:
    return service.ask_logged(
        db,
        settings,
        vault.pseudonym_key,
        collaboration_id=collab.id,
        actor=staff_actor(sc.maker, "member"),
        spec_json=spec,
        seed=1,
    )


class TestAnswers:
    def test_members_are_counted_and_small_cells_withheld(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = _ask(db, settings, vault, sc, collab)
        assert (answer.result.cells, answer.result.suppressed) == (
            [{"member": "member", "persons": 10, "orders": 30}],
            1,
        )

    def test_the_platforms_floor_overrides_a_smaller_agreed_minimum(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        # the agreement says 3 (a population of at least 6); under an operator's floor of 11
        # the 12 consenting persons are too few for any answer (at least 22)
        floored = settings.model_copy(update={"cleanroom_min_group_floor": 11})
        with pytest.raises(QueryRefused, match="fewer than 22 persons"):
            _ask(db, floored, vault, sc, collab)

    def test_ask_returns_the_engines_result(
        self, db: Session, settings: Settings, sc: Scenario, collab: Collaboration
    ) -> None:
        result = service.ask(
            db,
            settings,
            collaboration_id=collab.id,
            actor_org=sc.maker.id,
            actor=staff_actor(sc.maker, "member"),
            spec_json=BY_MEMBER,
        )
        assert len(result.persons) == len(scenario.LINKED)

    def test_a_question_for_ids_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        with pytest.raises(QueryRefused):
            _ask(db, settings, vault, sc, collab, {"measures": ["persons"], "dimensions": ["pid"]})


class TestWhoMayAsk:
    def test_the_provider_may_not_ask(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        with pytest.raises(NotParticipant):
            service.ask_logged(
                db,
                settings,
                vault.pseudonym_key,
                collaboration_id=collab.id,
                actor=sc.retailer_admin,
                spec_json=BY_MEMBER,
            )

    def test_an_outsider_gets_not_found(
        self, db: Session, settings: Settings, vault: Vault, collab: Collaboration
    ) -> None:
        with pytest.raises(CollaborationNotFound):
            service.ask_logged(
                db,
                settings,
                vault.pseudonym_key,
                collaboration_id=collab.id,
                actor=staff_actor(create_org(db), "admin"),
                spec_json=BY_MEMBER,
            )

    def test_an_expired_agreement_refuses(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        collab.expires_at = utcnow() - timedelta(seconds=1)
        db.flush()
        with pytest.raises(CollaborationNotActive):
            _ask(db, settings, vault, sc, collab)


class TestConsentAtQueryTime:
    def test_a_withdrawn_consent_drops_out_at_once(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        consent_service.withdraw_consent(
            db, vault.pseudonym_key, sc.consents[sc.persons[0].id], actor="person"
        )
        answer = _ask(db, settings, vault, sc, collab)
        assert answer.result.cells[0]["persons"] == len(scenario.LINKED) - 1

    def test_a_withdrawn_person_is_not_in_the_entrys_set(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        consent_service.withdraw_consent(
            db, vault.pseudonym_key, sc.consents[sc.persons[0].id], actor="person"
        )
        answer = _ask(db, settings, vault, sc, collab)
        usage = vault_service.usage_of(db, vault, sc.persons[0].id)
        assert answer.query.ledger_index not in {e["index"] for e in usage}


class TestRecords:
    def test_the_persons_portal_lists_the_analysis(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = _ask(db, settings, vault, sc, collab)
        usage = vault_service.usage_of(db, vault, sc.persons[3].id)
        entry = next(e for e in usage if e["index"] == answer.query.ledger_index)
        assert (entry["kind"], entry["refs"]["collaboration"]) == (
            "cleanroom.query",
            str(collab.id),
        )

    def test_the_entry_commits_to_the_released_persons(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = _ask(db, settings, vault, sc, collab)
        assert answer.query.ledger_index is not None
        members = ledger.subject_set_members(db, answer.query.ledger_index)
        assert len(members) == answer.query.persons == len(scenario.LINKED)

    def test_a_person_in_a_withheld_cell_is_not_listed(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = _ask(db, settings, vault, sc, collab)
        usage = vault_service.usage_of(db, vault, sc.persons[10].id)
        assert answer.query.ledger_index not in {e["index"] for e in usage}

    def test_one_query_entry_and_one_provision_entry(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        start = ledger.tree_size(db)
        _ask(db, settings, vault, sc, collab)
        kinds = list(
            db.scalars(
                select(LedgerEntry.kind).where(LedgerEntry.seq >= start).order_by(LedgerEntry.seq)
            )
        )
        assert [k for k in kinds if k in ("cleanroom.query", "provision")] == [
            "cleanroom.query",
            "provision",
        ]

    def test_provision_records_name_each_released_person(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab)
        lines = vault_service.provision_records(db, vault, sc.retailer.id)
        assert {(ln.provider, ln.recipient) for ln in lines} == {(sc.retailer.slug, sc.maker.slug)}
        assert len(lines) == len(scenario.LINKED)

    def test_the_query_log_keeps_counts(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab)
        (logged,) = service.queries_of(db, sc.retailer.id, collab.id)
        assert (logged.cells_released, logged.cells_suppressed, logged.epsilon_spent) == (1, 1, 0)


class TestBudget:
    def test_a_noisy_query_spends_epsilon(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab, NOISY)
        view = service.budget_view(db, sc.maker.id, collab.id)
        assert (view.spent, view.remaining) == (0.5, 0.5)

    def test_the_budget_once_spent_refuses_noisy_queries(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab, NOISY)
        _ask(db, settings, vault, sc, collab, NOISY)
        with pytest.raises(BudgetExhausted):
            _ask(db, settings, vault, sc, collab, NOISY)

    def test_queries_without_noise_spend_nothing(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab)
        assert service.budget_view(db, sc.maker.id, collab.id).spent == 0


class TestDifferenceCheck:
    def test_the_total_minus_the_answer_by_member_releases_nothing(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab, {"measures": ["persons"]})
        second = _ask(db, settings, vault, sc, collab).result
        assert (second.cells, second.suppressed_difference) == ([], 1)

    def test_the_answer_by_member_then_the_total_releases_nothing(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        _ask(db, settings, vault, sc, collab)
        second = _ask(db, settings, vault, sc, collab, {"measures": ["persons"]}).result
        assert (second.cells, second.suppressed_difference) == ([], 1)

    def test_each_answer_keeps_its_cells_persons_in_the_collaborations_folder(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = _ask(db, settings, vault, sc, collab)
        kept = pq.read_table(service.cells_dir(settings, collab.id) / f"{answer.query.id}.parquet")
        assert sorted(kept.column("pid").to_pylist()) == answer.result.persons

    def test_asking_the_same_question_again_answers_the_same(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        first = _ask(db, settings, vault, sc, collab)
        assert _ask(db, settings, vault, sc, collab).result.cells == first.result.cells


class TestRecipientSeesNoExactCountNextToNoise:
    def test_a_noisy_answers_total_is_the_sum_of_its_noisy_cells(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = answer_out(_ask(db, settings, vault, sc, collab, NOISY))
        assert answer.persons == sum(int(c["persons"]) for c in answer.cells)
        assert answer.suppressed is None

    def test_an_exact_answers_total_is_its_distinct_persons(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario, collab: Collaboration
    ) -> None:
        answer = answer_out(_ask(db, settings, vault, sc, collab))
        assert (answer.persons, answer.suppressed) == (len(scenario.LINKED), 1)
