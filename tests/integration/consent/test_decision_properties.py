"""Random histories of consent against an independent model of the rule.

Each example makes a fresh person with sealed records (some supplied by the home
organization, some by the other one), then plays a random history of give / narrow /
widen / withdraw / expire / time passing / consent for another purpose, interleaved with
reads through ``vault.service.read_records`` by either organization for random purposes
and categories.  A plain-Python model decides each read independently:

1. no read returns a payload unless one consent in force at that instant covers the
   recipient, the purpose and every category read;
2. the decision point allows exactly when the model does;
3. every read (allowed or denied) is in the ledger with the person's pseudonym, the
   purpose and the categories.

A second test asks, on the same histories, that each denial gives the model's reason.
Each example makes its own person, so examples sharing the test's transaction never meet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.integration.consent.conftest import Orgs, entry_at, give, new_person
from tsunagu.consent import service as consent_service
from tsunagu.consent.decision import REASONS
from tsunagu.core.clock import utcnow
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import b64, pseudonym
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

ORGS = ("home", "other")
PURPOSES = ("marketing", "service-provision")
CATEGORIES = ("contact", "contact.email", "contact.phone", "purchase", "purchase.order")
#: the records each person holds: (category, which organization supplied it)
RECORDS = (("contact.email", "home"), ("contact.phone", "other"), ("purchase.order", "home"))


def model_covers(granted: str, wanted: str) -> bool:
    """The hierarchy, written independently of the vocabulary module."""
    return granted == wanted or wanted[: len(granted) + 1] == granted + "."


@dataclass
class ModelConsent:
    id: uuid.UUID
    recipient: str
    purpose: str
    categories: frozenset[str]
    given_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None = None

    def in_force(self, t: datetime) -> bool:
        return (
            self.given_at <= t
            and (self.ended_at is None or self.ended_at > t)
            and (self.expires_at is None or self.expires_at > t)
        )

    def open_for_withdrawal(self, t: datetime) -> bool:
        return self.ended_at is None and (self.expires_at is None or self.expires_at > t)


def model_reason(
    consents: list[ModelConsent], recipient: str, purpose: str, cats: set[str], t: datetime
) -> str:
    """The reason a person can act on, as the model sees the history."""
    if model_allows(consents, recipient, purpose, cats, t):
        return "consent_covers"
    mine = [c for c in consents if c.recipient == recipient]
    if not mine:
        return "no_consent"
    same = [c for c in mine if c.purpose == purpose]
    if not same:
        return "purpose_not_consented"
    if any(c.in_force(t) for c in same):
        return "categories_not_covered"
    latest = max((c for c in same if c.given_at <= t), key=lambda c: c.given_at)
    expiry = latest.expires_at
    if (
        expiry is not None
        and expiry <= t
        and (latest.ended_at is None or latest.ended_at >= expiry)
    ):
        return "expired"
    return "withdrawn"


def model_allows(
    consents: list[ModelConsent], recipient: str, purpose: str, cats: set[str], t: datetime
) -> bool:
    return any(
        c.recipient == recipient
        and c.purpose == purpose
        and c.in_force(t)
        and all(any(model_covers(g, w) for g in c.categories) for w in cats)
        for c in consents
    )


_cats = st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=3)
_org = st.sampled_from(ORGS)
_purpose = st.sampled_from(PURPOSES)
_expiry = st.one_of(st.none(), st.integers(min_value=1, max_value=6))

STEPS = st.one_of(
    # giving is three times as likely as each other step (one branch per purpose, too)
    st.tuples(st.just("give"), _org, _purpose, _cats, _expiry),
    st.tuples(st.just("give"), _org, st.just("marketing"), _cats, st.none()),
    st.tuples(st.just("give"), _org, st.just("service-provision"), _cats, _expiry),
    st.tuples(st.just("narrow"), st.integers(0, 20)),
    st.tuples(st.just("widen"), st.integers(0, 20), _cats),
    st.tuples(st.just("withdraw"), st.integers(0, 20)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("read"), _org, _purpose, _cats),
    st.tuples(st.just("read_under"), st.integers(0, 20), _org),
)


class History:
    """One example: the live system and the model side by side."""

    def __init__(
        self, db: Session, vault: Vault, orgs: Orgs, *, check_reasons: bool = False
    ) -> None:
        self.check_reasons = check_reasons
        self.db = db
        self.vault = vault
        self.orgs = orgs
        self.person = new_person(db, vault, orgs.home)
        self.subject = b64(pseudonym(vault.pseudonym_key, self.person.id))
        self.source_of: dict[str, str] = {}
        for category, source in RECORDS:
            vault_service.create_record(
                db,
                vault,
                person_id=self.person.id,
                category=category,
                payload={"value": f"{category}-secret"},
                source=orgs.home if source == "home" else orgs.other,
                source_kind="api",
                actor="api_key:test",
            )
            self.source_of[category] = source
        # whole seconds from now on: the model and both databases agree on every instant
        self.now = utcnow().replace(microsecond=0) + timedelta(minutes=1)
        self.consents: list[ModelConsent] = []

    def org(self, which: str) -> Any:
        return self.orgs.home if which == "home" else self.orgs.other

    def tick(self, minutes: int = 1) -> None:
        self.now += timedelta(minutes=minutes)

    def wait(self, minutes: int) -> None:
        self.tick(minutes)

    # -- changes -------------------------------------------------------------------

    def give(self, recipient: str, purpose: str, cats: set[str], expiry: int | None = None) -> None:
        self.tick()
        expires_at = None if expiry is None else self.now + timedelta(minutes=expiry)
        issued = give(
            self.db,
            self.vault,
            self.person.id,
            self.org(recipient),
            purpose,
            sorted(cats),
            now=self.now,
            expires_at=expires_at,
        )
        for old in self.consents:
            if old.recipient == recipient and old.purpose == purpose and old.ended_at is None:
                old.ended_at = self.now  # superseded
        self.consents.append(
            ModelConsent(
                issued.consent.id, recipient, purpose, frozenset(cats), self.now, expires_at
            )
        )

    def _open(self, pick: int) -> ModelConsent | None:
        candidates = [c for c in self.consents if c.open_for_withdrawal(self.now)]
        return candidates[pick % len(candidates)] if candidates else None

    def narrow(self, pick: int) -> None:
        current = self._open(pick)
        if current is None or len(current.categories) < 2:
            return
        fewer = set(sorted(current.categories)[1:])
        self.give(current.recipient, current.purpose, fewer)

    def widen(self, pick: int, more: set[str]) -> None:
        current = self._open(pick)
        if current is None:
            return
        self.give(current.recipient, current.purpose, set(current.categories) | more)

    def withdraw(self, pick: int) -> None:
        self.tick()
        current = self._open(pick)
        if current is None:
            return
        row = consent_service.get_consent(self.db, current.id)
        consent_service.withdraw_consent(
            self.db, self.vault.pseudonym_key, row, actor="person", now=self.now
        )
        current.ended_at = self.now

    def expire(self) -> None:
        consent_service.expire_due(
            self.db, self.vault.pseudonym_key, now=self.now, person_id=self.person.id
        )
        for c in self.consents:
            if c.ended_at is None and c.expires_at is not None and c.expires_at <= self.now:
                c.ended_at = c.expires_at

    # -- the read and the three invariants ------------------------------------------

    def read(self, which: str, purpose: str, cats: set[str]) -> None:
        size_before = ledger.tree_size(self.db)
        expected = model_allows(self.consents, which, purpose, cats, self.now)
        event("read allowed" if expected else "read denied")
        result = vault_service.read_records(
            self.db,
            self.vault,
            self.orgs.reader(which),
            self.person.id,
            purpose=purpose,
            categories=sorted(cats),
            actor="api_key:test",
            at=self.now,
        )
        history = f"read by {which} for {purpose} of {sorted(cats)} at {self.now}"
        # invariant 1: a payload only under a consent in force that covers the read
        if result.records:
            assert expected, history
            for view in result.records:
                assert any(model_covers(w, view.category) for w in cats), history
                assert view.payload == {"value": f"{view.category}-secret"}
        # invariant 2: the decision is the model's
        assert result.decision.allow is expected, history
        assert (result.decision.reason == "consent_covers") is expected, history
        assert result.decision.reason in REASONS, history
        if self.check_reasons:
            reason = model_reason(self.consents, which, purpose, cats, self.now)
            assert result.decision.reason == reason, history
        # invariant 3: the read is in the ledger (plus a provision entry per other source)
        read_cats = {
            category for category in self.source_of if any(model_covers(w, category) for w in cats)
        }
        providers = {self.source_of[c] for c in read_cats} - {which} if expected else set()
        assert ledger.tree_size(self.db) == size_before + 1 + len(providers)
        assert result.decision.ledger_index == size_before
        entry = entry_at(self.db, size_before)
        assert entry["kind"] == ("access.allowed" if expected else "access.denied")
        assert entry["subject"] == {"pseudonym": self.subject}
        assert entry["purpose"] == purpose
        assert entry["categories"] == sorted(cats)
        assert entry["org"] == self.org(which).slug

    def read_under(self, pick: int, which: str) -> None:
        """A read below some consent's categories (in force or not), by either org."""
        if not self.consents:
            return
        target = self.consents[pick % len(self.consents)]
        below = {c for c in CATEGORIES if any(model_covers(g, c) for g in target.categories)}
        self.read(which, target.purpose, below)

    def play(self, steps: list[tuple[Any, ...]]) -> None:
        for step in steps:
            name, *args = step
            getattr(self, name)(*args)
        # the end of every history: each consent in force allows reading its categories,
        # and the e-mail address is read by everyone for every purpose
        for c in self.consents:
            if c.in_force(self.now):
                self.read(c.recipient, c.purpose, set(c.categories))
        for which in ORGS:
            for purpose in PURPOSES:
                self.read(which, purpose, {"contact.email"})


class TestRandomHistories:
    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=st.lists(STEPS, min_size=4, max_size=14))
    def test_reads_follow_the_model_and_are_all_in_the_ledger(
        self, db: Session, vault: Vault, orgs: Orgs, steps: list[tuple[Any, ...]]
    ) -> None:
        History(db, vault, orgs).play(steps)

    @hypothesis_settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=st.lists(STEPS, min_size=4, max_size=14))
    # always tried: a consent runs out, the sweep marks it expired, then it is read
    @example(steps=[("give", "home", "marketing", {"contact"}, 1), ("wait", 2), ("expire",)])
    def test_every_denial_gives_the_models_reason(
        self, db: Session, vault: Vault, orgs: Orgs, steps: list[tuple[Any, ...]]
    ) -> None:
        History(db, vault, orgs, check_reasons=True).play(steps)
