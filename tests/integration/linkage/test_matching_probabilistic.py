"""Probabilistic matching runs (Splink) inside a collaboration, against known truth.

A seeded pair of messy Japanese customer files (``synthetic.make_pair``: old kanji, era dates,
phone formats, typos in readings, moves, marriages, households and namesakes) becomes the
retailer's customers (persons registered under the left file's ids; the first four in five
consent) and the maker's member list (the right file).  The true links are known, so each
test can say which persons the run linked and which it should have.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.linkage import scenario
from tests.integration.linkage.scenario import EVIDENCE, Scenario, staff_actor
from tests.support.factories import bearer, create_api_key, create_org
from tsunagu.consent import service as consent_service
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.ledger import service as ledger
from tsunagu.linkage import service, synthetic
from tsunagu.linkage.files import COLUMNS
from tsunagu.linkage.models import Collaboration, Match, MatchRun
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

#: a few hundred rows: enough for Splink to train, quick enough for a test
N_LEFT, N_RIGHT, OVERLAP = 240, 180, 140
SEED = 6
#: many real changes (moves, marriages, typos in readings, other phones and e-mails)
CHANGE_RATE = 0.6
HEX64 = re.compile(r"[0-9a-f]{64}")
API = "/api/v1/linkage/collaborations"


@dataclass
class Messy:
    """The collaboration over the synthetic files, and the truth as pseudonym pairs."""

    sc: Scenario
    collab: Collaboration
    left: list[dict[str, str]]
    right: list[dict[str, str]]
    consenting: set[str]
    #: (provider pid, recipient pid) of every true link between a consenting customer and
    #: a member
    truth: set[tuple[str, str]]
    #: provider pids of the customers who did not consent
    refused: set[str]


def _csv(rows: list[dict[str, str]], first: str) -> bytes:
    out = io.StringIO()
    columns = [first, *COLUMNS[1:]]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({first: row["id"], **{c: row.get(c, "") for c in COLUMNS[1:]}})
    return out.getvalue().encode()


def _build(db: Session, settings: Settings, vault: Vault) -> Messy:
    left, right, truth_ids = synthetic.make_pair(
        N_LEFT, N_RIGHT, OVERLAP, seed=SEED, variant_rate=0.3, change_rate=CHANGE_RATE
    )
    retailer = create_org(db, slug=f"retailer-{uuid.uuid4().hex[:8]}")
    maker = create_org(db, slug=f"maker-{uuid.uuid4().hex[:8]}")
    sc = Scenario(retailer=retailer, maker=maker, persons=[])
    person_of: dict[str, uuid.UUID] = {}
    consenting: set[str] = set()
    for k, row in enumerate(left):
        # the vault's own record of the person does not matter here: matching reads the
        # uploaded customer table
        person = vault_service.register_person(
            db, vault, retailer, ref=row["id"], family_name="顧客", given_name=row["id"], actor="t"
        )
        sc.persons.append(person)
        person_of[row["id"]] = person.id
        if k % 5 == 4:
            continue  # one customer in five does not consent
        consent_service.give_consent(
            db,
            vault.pseudonym_key,
            person_id=person.id,
            recipient=maker,
            purpose=scenario.PURPOSE,
            categories=scenario.CATEGORIES,
            evidence=EVIDENCE,
            actor="person",
            given_by="person",
        )
        consenting.add(row["id"])
    collab = scenario.active(db, sc)
    service.upload_customers(
        db,
        settings,
        actor=staff_actor(retailer, "member"),
        collaboration_id=collab.id,
        data=_csv(left, "customer_id"),
    )
    service.upload_members(
        db,
        settings,
        actor=staff_actor(maker, "member"),
        collaboration_id=collab.id,
        data=_csv(right, "id"),
    )
    key = service.collaboration_key(settings, collab.id)
    truth = {
        (service.person_pid(key, person_of[a]), service.member_pid(key, b))
        for a, b in truth_ids
        if a in consenting
    }
    refused = {
        service.person_pid(key, person_of[row["id"]]) for row in left if row["id"] not in consenting
    }
    return Messy(sc, collab, left, right, consenting, truth, refused)


@pytest.fixture
def messy(db: Session, settings: Settings, vault: Vault) -> Messy:
    return _build(db, settings, vault)


def _run(
    db: Session,
    settings: Settings,
    vault: Vault,
    m: Messy,
    method: str = "probabilistic",
    threshold: float | None = None,
) -> MatchRun:
    return service.run_match(
        db,
        settings,
        vault.pseudonym_key,
        actor=m.sc.retailer_admin,
        collaboration_id=m.collab.id,
        method=method,
        threshold=threshold,
    )


def _pairs(db: Session, run: MatchRun) -> set[tuple[str, str]]:
    rows = db.execute(
        select(Match.provider_pid, Match.recipient_pid).where(Match.run_id == run.id)
    ).all()
    return {(a, b) for a, b in rows}


class TestProbabilisticMatching:
    def test_it_links_true_pairs_the_keyed_pseudonyms_miss_without_false_ones(
        self, db: Session, settings: Settings, vault: Vault, messy: Messy
    ) -> None:
        exact = _pairs(db, _run(db, settings, vault, messy, method="pseudonym")) & messy.truth
        linked = _pairs(db, _run(db, settings, vault, messy))
        found = linked & messy.truth
        assert (len(found - exact) >= 10, len(found) > len(exact)) == (True, True)
        assert len(found) / len(linked) >= 0.95

    def test_no_customer_without_consent_is_linked(
        self, db: Session, settings: Settings, vault: Vault, messy: Messy
    ) -> None:
        run = _run(db, settings, vault, messy, threshold=0.01)
        linked = {left for left, _ in _pairs(db, run)}
        assert (run.consenting, linked & messy.refused) == (len(messy.consenting), set())

    def test_a_higher_threshold_never_links_more_pairs(
        self, db: Session, settings: Settings, vault: Vault, messy: Messy
    ) -> None:
        counts = [_run(db, settings, vault, messy, threshold=t).matched for t in (0.2, 0.999)]
        assert counts[0] > counts[1] > 0

    def test_the_run_and_its_ledger_entry_record_method_threshold_and_no_identifier(
        self, db: Session, settings: Settings, vault: Vault, messy: Messy
    ) -> None:
        run = _run(db, settings, vault, messy, threshold=0.9)
        assert run.quality is not None
        assert run.ledger_index is not None
        (leaf,) = ledger.get_entries(db, run.ledger_index, run.ledger_index, 1)
        refs = orjson.loads(leaf)["refs"]
        text = orjson.dumps(run.quality).decode()
        clear = {r["id"] for r in (*messy.left, *messy.right)}
        clear |= {r[c] for r in (*messy.left, *messy.right) for c in ("email", "phone") if r[c]}
        leaked = {c for c in clear if c in text} | set(HEX64.findall(text))
        wanted = ("threshold", "precision", "recall", "f1", "borderline_pairs", "pairs")
        assert (
            (run.method, refs["method"]),
            (run.quality["threshold"], refs["threshold"]),
            run.quality["pairs"],
            {k for k in wanted if k not in run.quality},
            leaked,
        ) == (("probabilistic", "probabilistic"), (0.9, 0.9), run.matched, set(), set())


@pytest.fixture
def sc(db: Session, vault: Vault) -> Scenario:
    return scenario.build(db, vault)


class TestMethodRefusals:
    def test_an_unknown_method_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        with pytest.raises(InvalidInput, match="unknown"):
            service.run_match(
                db,
                settings,
                vault.pseudonym_key,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                method="fuzzy",
            )

    def test_a_threshold_for_keyed_pseudonyms_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        with pytest.raises(InvalidInput, match="probabilistic matching only"):
            service.run_match(
                db,
                settings,
                vault.pseudonym_key,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                threshold=0.9,
            )

    def test_a_threshold_above_one_is_refused(
        self, db: Session, settings: Settings, vault: Vault, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        with pytest.raises(InvalidInput, match="match probability"):
            service.run_match(
                db,
                settings,
                vault.pseudonym_key,
                actor=sc.retailer_admin,
                collaboration_id=collab.id,
                method="probabilistic",
                threshold=1.5,
            )


class TestMatchApi:
    def test_a_match_without_a_body_uses_keyed_pseudonyms(
        self, client: TestClient, db: Session, settings: Settings, sc: Scenario
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        key = bearer(create_api_key(db, sc.retailer, role="admin"))
        db.commit()
        body = client.post(f"{API}/{collab.id}/match", headers=key).json()
        assert (body["method"], body["threshold"], body["quality"], body["matched"]) == (
            "pseudonym",
            None,
            None,
            len(scenario.LINKED),
        )

    @pytest.mark.parametrize(
        "payload",
        [
            {"method": "fuzzy"},
            {"method": "probabilistic", "threshold": 1.5},
            {"method": "pseudonym", "threshold": 0.9},
            {"method": "probabilistic", "limit": 3},
        ],
    )
    def test_a_bad_match_request_is_refused(
        self,
        client: TestClient,
        db: Session,
        settings: Settings,
        sc: Scenario,
        payload: dict[str, object],
    ) -> None:
        collab = scenario.active(db, sc)
        scenario.uploaded(db, settings, sc, collab)
        key = bearer(create_api_key(db, sc.retailer, role="admin"))
        db.commit()
        response = client.post(f"{API}/{collab.id}/match", json=payload, headers=key)
        assert response.status_code == 422

    def test_the_summary_shows_a_probabilistic_runs_method_and_quality(
        self, client: TestClient, db: Session, messy: Messy
    ) -> None:
        member = bearer(create_api_key(db, messy.sc.retailer, role="admin"))
        viewer = bearer(create_api_key(db, messy.sc.maker, role="viewer"))
        db.commit()
        url = f"{API}/{messy.collab.id}/match"
        posted = client.post(
            url, json={"method": "probabilistic", "threshold": 0.9}, headers=member
        )
        body = client.get(url, headers=viewer).json()
        assert (posted.status_code, body["method"], body["threshold"]) == (
            201,
            "probabilistic",
            0.9,
        )
        assert (body["quality"]["pairs"], body["quality"]["records_provider"]) == (
            body["matched"],
            len(messy.consenting),
        )
