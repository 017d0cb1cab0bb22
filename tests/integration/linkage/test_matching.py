"""Datasets and matching: all-or-nothing uploads, consent before matching, pseudonyms only."""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import Scenario, staff_actor
from tsunagu.consent import service as consent_service
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.identity.errors import RoleTooLow
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import b64, pseudonym
from tsunagu.linkage import service
from tsunagu.linkage.errors import DatasetMissing, MembersFixed, NotParticipant
from tsunagu.linkage.models import Dataset, Match
from tsunagu.vault.service import Vault

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def sc(db: Session, vault: Vault) -> Scenario:
    return scenario.build(db, vault)


class TestUploads:
    def test_customers_are_stored_as_parquet_under_home(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        dataset = service.upload_customers(
            db,
            settings,
            actor=sc.retailer_admin,
            collaboration_id=collab.id,
            data=sc.customers_csv(),
        )
        path = service.dataset_path(settings, dataset)
        assert (path.is_relative_to(settings.home), pq.read_metadata(path).num_rows) == (
            True,
            scenario.PERSONS,
        )

    def test_an_unknown_customer_stores_nothing(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        bad = sc.customers_csv(extra="C9999,誰,か,1980-01-01,x@example.jp,,,,new\n")
        with pytest.raises(InvalidInput):
            service.upload_customers(
                db, settings, actor=sc.retailer_admin, collaboration_id=collab.id, data=bad
            )
        assert db.scalars(select(Dataset).where(Dataset.collaboration_id == collab.id)).all() == []

    def test_an_order_of_an_unknown_customer_stores_nothing(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        actor = sc.retailer_admin
        service.upload_customers(
            db, settings, actor=actor, collaboration_id=collab.id, data=sc.customers_csv()
        )
        bad = sc.orders_csv() + b"Z1,C9999,2026-04-01,food,100\n"
        with pytest.raises(InvalidInput):
            service.upload_orders(db, settings, actor=actor, collaboration_id=collab.id, data=bad)

    def test_orders_need_the_customer_table_first(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        with pytest.raises(DatasetMissing):
            service.upload_orders(
                db,
                settings,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                data=sc.orders_csv(),
            )

    def test_the_recipient_cannot_upload_customers(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        with pytest.raises(NotParticipant):
            service.upload_customers(
                db,
                settings,
                actor=sc.maker_admin,
                collaboration_id=collab.id,
                data=sc.customers_csv(),
            )

    def test_the_provider_cannot_upload_members(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        with pytest.raises(NotParticipant):
            service.upload_members(
                db,
                settings,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                data=sc.members_jsonl(),
                fmt="jsonl",
            )

    def test_a_bad_json_line_stores_nothing(
        self, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        with pytest.raises(InvalidInput):
            service.upload_members(
                db,
                settings,
                actor=sc.maker_admin,
                collaboration_id=collab.id,
                data=sc.members_jsonl() + b"{not json\n",
                fmt="jsonl",
            )

    def test_a_viewer_cannot_upload(self, db: Session, settings: Settings, sc: Scenario) -> None:
        collab = scenario.active(db, sc)
        with pytest.raises(RoleTooLow):
            service.upload_customers(
                db,
                settings,
                actor=staff_actor(sc.retailer, "viewer"),
                collaboration_id=collab.id,
                data=sc.customers_csv(),
            )


class TestWhoMatches:
    def test_the_recipient_cannot_run_the_match(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        with pytest.raises(NotParticipant):
            service.run_match(
                db, settings, vault.pseudonym_key, actor=sc.maker_admin, collaboration_id=collab.id
            )

    def test_a_provider_member_cannot_run_the_match(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        member = staff_actor(sc.retailer, "member")
        with pytest.raises(RoleTooLow):
            service.run_match(
                db, settings, vault.pseudonym_key, actor=member, collaboration_id=collab.id
            )

    def test_the_member_list_is_fixed_once_matched_under_the_terms(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab, _ = scenario.matched(db, settings, vault, sc)
        with pytest.raises(MembersFixed):
            service.upload_members(
                db,
                settings,
                actor=sc.maker_admin,
                collaboration_id=collab.id,
                data=sc.members_jsonl(),
                fmt="jsonl",
            )


class TestMatching:
    def test_only_consenting_customers_are_matched(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        _, run = scenario.matched(db, settings, vault, sc)
        assert (run.customers, run.consenting, run.members, run.matched) == (
            scenario.PERSONS,
            len(scenario.CONSENTING),
            len(scenario.MEMBERS) + 2,
            len(scenario.LINKED),
        )

    def test_the_match_table_holds_only_pseudonyms(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        _, run = scenario.matched(db, settings, vault, sc)
        rows = db.scalars(select(Match).where(Match.run_id == run.id)).all()
        clear = {str(p.id) for p in sc.persons} | {f"M{i:05d}" for i in scenario.MEMBERS}
        values = {v for r in rows for v in (r.provider_pid, r.recipient_pid)}
        assert all(HEX64.match(v) for v in values)
        assert not values & clear

    def test_the_match_links_the_expected_persons(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab, run = scenario.matched(db, settings, vault, sc)
        key = service.collaboration_key(settings, collab.id)
        linked = {service.person_pid(key, sc.persons[i].id) for i in scenario.LINKED}
        assert set(service.matched_pids(db, run.id)) == linked

    def test_a_withdrawn_consent_is_not_matched(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        consent_service.withdraw_consent(
            db, vault.pseudonym_key, sc.consents[sc.persons[0].id], actor="person"
        )
        _, run = scenario.matched(db, settings, vault, sc)
        assert run.matched == len(scenario.LINKED) - 1

    def test_the_consent_batch_commits_to_the_allowed_set(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        _, run = scenario.matched(db, settings, vault, sc)
        allowed_index = run.consent_ledger_indexes[0]
        members = ledger.subject_set_members(db, allowed_index)
        assert len(members) == len(scenario.CONSENTING)

    def test_the_match_is_a_ledger_entry_about_each_linked_person(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        _, run = scenario.matched(db, settings, vault, sc)
        assert run.ledger_index is not None
        mine = b64(pseudonym(vault.pseudonym_key, sc.persons[0].id))
        assert run.ledger_index in {i for i, _ in ledger.entries_about(db, mine)}

    def test_a_non_consenting_person_has_no_match_entry(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        _, run = scenario.matched(db, settings, vault, sc)
        theirs = b64(pseudonym(vault.pseudonym_key, sc.persons[12].id))
        assert run.ledger_index not in {i for i, _ in ledger.entries_about(db, theirs)}

    def test_a_second_run_replaces_the_pairs(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab, _ = scenario.matched(db, settings, vault, sc)
        run = service.run_match(
            db, settings, vault.pseudonym_key, actor=sc.retailer_admin, collaboration_id=collab.id
        )
        assert len(db.scalars(select(Match)).all()) == run.matched
