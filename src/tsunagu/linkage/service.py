"""Use cases of collaborations: propose, accept, upload datasets, match.

Every function takes the session first and only flushes; the caller (a request, a command,
the demo) commits.  Who may do what:

* an organization's **admin** proposes a collaboration (and so accepts its first terms),
  accepts one, or amends its terms (a new version every participant accepts again);
* the **provider** (the organization holding the personal data, e.g. the retailer)
  uploads its customer and order tables, the **recipient** (e.g. the maker) its member
  list — member role at least;
* any participant's member runs the matching; any participant reads the summary;
* an organization that is not a participant learns nothing: ``CollaborationNotFound``.

A collaboration is usable only while it is ``active`` and ``expires_at`` lies in the
future — checked at every use (``require_usable``); expiry is never a stored state.

Matching (``run_match``) first restricts the provider's customers to persons whose consent
covers the agreement (purpose, the recipient, every category) at that instant — one
``decide_many`` batch whose ledger entries commit to the allowed and denied sets — and only
then pseudonymises both sides (``pseudonym.pseudonymise``, HMAC under the collaboration's
key, in DuckDB) and joins them (``pseudonym.match``).  ``method="probabilistic"`` scores
the same consenting customers against the members with Splink instead
(``probabilistic.link``: typos, moves, name changes; one-to-one; threshold given or the
best expected F1) and keeps a quality report with the run — counts, the threshold, the
model's estimated precision, recall and F1, how many pairs are borderline, but never the
borderline pairs themselves, which would show the recipient the provider's customers.
Either way the stored match table holds the provider's person pseudonym and the
recipient's member pseudonym, never an identifier, and the run's ledger entry names the
method (and threshold).

Uploaded tables are Parquet files under ``<home>/linkage/<collaboration id>/``, written
before the transaction commits: a rolled-back upload leaves an unreferenced file, never a
referenced half one (each upload writes a new file named after its dataset row).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.consent.service import actor_label
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.core.imports import Column, RowError, insert_rows, parse
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Organization, PersonLink
from tsunagu.identity.service import Actor, get_organization_by_slug
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, pseudonym_of_bytes
from tsunagu.linkage import normalize, probabilistic, pseudonym
from tsunagu.linkage.errors import (
    AlreadyAccepted,
    CollaborationNotActive,
    CollaborationNotFound,
    DatasetMissing,
    InvalidAgreement,
    MembersFixed,
    NoMatchRun,
    NotParticipant,
    RulesInvalid,
    TermsChanged,
)
from tsunagu.linkage.models import (
    Collaboration,
    Dataset,
    Match,
    MatchRun,
    Participant,
)
from tsunagu.linkage.rules import AnalysisRules

Role = Literal["provider", "recipient"]
Format = Literal["csv", "jsonl"]

#: the analysis rules' default minimum number of distinct persons in a released cell
DEFAULT_MIN_GROUP_SIZE = 50
#: identifier columns of the issue (``normalize.COLUMNS`` without ``id``)
IDENTIFIERS = normalize.COLUMNS[1:]
#: what ``normalize.normalize_record`` adds, kept for matching
DERIVED = ("full_name", "full_name_kana", "prefecture", "city", "address_key")
_MATCH_BATCH = 10_000


# --- terms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """A sharing agreement's terms (one version)."""

    purpose: str
    categories: tuple[str, ...]
    #: ``AnalysisRules.to_dict()`` (checked in full by the clean room when it is used)
    rules: Mapping[str, Any]
    expires_at: datetime
    forbidden_uses_ja: str = ""
    forbidden_uses_en: str = ""
    budget_epsilon: float | None = None

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical terms: what an acceptance commits to."""
        body = {
            "purpose": self.purpose,
            "categories": sorted(self.categories),
            "rules": dict(self.rules),
            "expires_at": self.expires_at.astimezone(UTC).isoformat(),
            "forbidden_uses_ja": self.forbidden_uses_ja,
            "forbidden_uses_en": self.forbidden_uses_en,
            "budget_epsilon": self.budget_epsilon,
        }
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def terms_of(collab: Collaboration) -> Terms:
    return Terms(
        purpose=collab.purpose,
        categories=tuple(collab.categories),
        rules=dict(collab.rules),
        expires_at=collab.expires_at,
        forbidden_uses_ja=collab.forbidden_uses_ja,
        forbidden_uses_en=collab.forbidden_uses_en,
        budget_epsilon=collab.budget_epsilon,
    )


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidAgreement(f"rules.{what}: list at least one name")
    if not all(isinstance(v, str) and v for v in value):
        raise InvalidAgreement(f"rules.{what}: every entry must be a name")
    return sorted(set(value))


def _check_terms(session: Session, recipient_id: uuid.UUID, terms: Terms, now: datetime) -> Terms:
    """The terms with the vocabulary checked and the rules' defaults filled in."""
    cats = consent_service.check_categories(session, terms.categories)
    consent_service.resolve_purpose(session, recipient_id, terms.purpose)
    if terms.expires_at.tzinfo is None:
        raise InvalidAgreement("expires_at needs a time zone (e.g. +09:00 or Z)")
    if terms.expires_at <= now:
        raise InvalidAgreement("expires_at lies in the past: an agreement must end in the future")
    rules = dict(terms.rules)
    rules["dimensions"] = _names(rules.get("dimensions"), "dimensions")
    rules["measures"] = _names(rules.get("measures"), "measures")
    size = rules.get("min_group_size", DEFAULT_MIN_GROUP_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidAgreement("rules.min_group_size: a whole number of persons, at least 1")
    rules["min_group_size"] = size
    eps = rules.get("epsilon_per_query")
    if eps is not None and (
        isinstance(eps, bool)
        or not isinstance(eps, int | float)
        or not math.isfinite(eps)
        or eps <= 0
    ):
        raise InvalidAgreement("rules.epsilon_per_query: a positive number, or null for no noise")
    budget = terms.budget_epsilon
    if budget is not None and (
        isinstance(budget, bool) or not math.isfinite(budget) or budget <= 0
    ):
        raise InvalidAgreement("budget_epsilon: a positive total ε, or null for no budget")
    if budget is not None and eps is None:
        raise InvalidAgreement("a privacy budget needs rules.epsilon_per_query (the ε per query)")
    try:
        # the rules the clean room will enforce, read now: terms both sides accept can never
        # turn out unusable at the first question (an unknown dimension, "false" as a flag)
        AnalysisRules.from_agreement(rules)
    except RulesInvalid as exc:
        raise InvalidAgreement(f"rules: {exc.message}") from exc
    return Terms(
        purpose=terms.purpose,
        categories=cats,
        rules=rules,
        expires_at=terms.expires_at,
        forbidden_uses_ja=terms.forbidden_uses_ja.strip(),
        forbidden_uses_en=terms.forbidden_uses_en.strip(),
        budget_epsilon=budget,
    )


def _apply_terms(collab: Collaboration, terms: Terms) -> None:
    collab.purpose = terms.purpose
    collab.categories = list(terms.categories)
    collab.rules = dict(terms.rules)
    collab.expires_at = terms.expires_at
    collab.forbidden_uses_ja = terms.forbidden_uses_ja
    collab.forbidden_uses_en = terms.forbidden_uses_en
    collab.budget_epsilon = terms.budget_epsilon


# --- reading -----------------------------------------------------------------------------


def effective_status(collab: Collaboration, now: datetime | None = None) -> str:
    """``proposed``, ``active``, ``expired`` (an active one past ``expires_at``) or
    ``ended``."""
    now = now or utcnow()
    if collab.status == "ended":
        return "ended"
    if collab.expires_at <= now:
        return "expired"
    return collab.status


def access_collaboration(
    session: Session, organization_id: uuid.UUID, collaboration_id: uuid.UUID
) -> Collaboration:
    """The collaboration, if the organization takes part; otherwise not found (another
    tenant learns nothing, not even that it exists)."""
    collab = session.get(Collaboration, collaboration_id)
    if collab is None or role_of(session, collaboration_id, organization_id) is None:
        raise CollaborationNotFound("no such collaboration")
    return collab


def role_of(
    session: Session, collaboration_id: uuid.UUID, organization_id: uuid.UUID
) -> str | None:
    return session.scalar(
        select(Participant.role).where(
            Participant.collaboration_id == collaboration_id,
            Participant.organization_id == organization_id,
        )
    )


def participants_of(session: Session, collaboration_id: uuid.UUID) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant)
            .where(Participant.collaboration_id == collaboration_id)
            .order_by(Participant.role, Participant.id)
        )
    )


def list_collaborations(session: Session, organization_id: uuid.UUID) -> list[Collaboration]:
    """The organization's collaborations, newest first."""
    return list(
        session.scalars(
            select(Collaboration)
            .join(Participant, Participant.collaboration_id == Collaboration.id)
            .where(Participant.organization_id == organization_id)
            .order_by(Collaboration.created_at.desc(), Collaboration.id)
        )
    )


@dataclass(frozen=True)
class Parties:
    """The provider and the recipient of a collaboration (organization rows)."""

    provider: Organization
    recipient: Organization


def parties_of(session: Session, collaboration_id: uuid.UUID) -> Parties:
    rows = session.execute(
        select(Participant.role, Organization)
        .join(Organization, Organization.id == Participant.organization_id)
        .where(Participant.collaboration_id == collaboration_id)
    ).all()
    by_role = dict(rows)
    return Parties(provider=by_role["provider"], recipient=by_role["recipient"])


def require_usable(collab: Collaboration, now: datetime | None = None) -> None:
    """Refuse any use of a collaboration that is not active or has expired."""
    status = effective_status(collab, now)
    if status == "active":
        return
    if status == "proposed":
        raise CollaborationNotActive(
            "the agreement is not accepted by every participant's admin yet"
        )
    if status == "expired":
        raise CollaborationNotActive(
            f"the agreement expired at {collab.expires_at.isoformat()}; agree new terms to go on"
        )
    raise CollaborationNotActive("the collaboration has ended")


def _require_role_in(
    session: Session, collab: Collaboration, actor: Actor, role: Role, what: str
) -> None:
    if role_of(session, collab.id, actor.org_id) != role:
        raise NotParticipant(f"only the collaboration's {role} {what}")


def _org_slug(session: Session, org_id: uuid.UUID) -> str:
    org = session.get(Organization, org_id)
    return org.slug if org is not None else ""


# --- proposing and accepting --------------------------------------------------------------


def propose(
    session: Session,
    *,
    actor: Actor,
    name: str,
    participants: Sequence[tuple[str, Role]],
    terms: Terms,
    now: datetime | None = None,
) -> Collaboration:
    """A new collaboration, proposed (and so accepted) by the actor's organization's admin;
    ``participants`` are (organization slug, role): exactly one provider and one recipient,
    the actor's organization among them."""
    actor.require_role("admin")
    now = now or utcnow()
    name = name.strip()
    if not name:
        raise InvalidAgreement("name: give the collaboration a name")
    orgs: dict[uuid.UUID, tuple[Organization, Role]] = {}
    for slug, role in participants:
        if role not in ("provider", "recipient"):
            raise InvalidAgreement(f"participants: role {role!r} is neither provider nor recipient")
        org = get_organization_by_slug(session, slug)
        if org.id in orgs:
            raise InvalidAgreement(f"participants: {slug!r} is listed twice")
        orgs[org.id] = (org, role)
    roles = sorted(role for _, role in orgs.values())
    if roles != ["provider", "recipient"]:
        raise InvalidAgreement("participants: name exactly one provider and one recipient")
    if actor.org_id not in orgs:
        raise InvalidAgreement("participants: your own organization must take part")
    recipient = next(org for org, role in orgs.values() if role == "recipient")
    terms = _check_terms(session, recipient.id, terms, now)
    collab = Collaboration(
        name=name, status="proposed", version=1, proposed_by_id=actor.org_id, created_at=now
    )
    _apply_terms(collab, terms)
    session.add(collab)
    session.flush()
    for org, role in orgs.values():
        session.add(Participant(collaboration_id=collab.id, organization_id=org.id, role=role))
    session.flush()
    _record_step(session, collab, actor, "linkage.proposed", now, terms)
    accept(session, actor=actor, collaboration_id=collab.id, version=1, now=now)
    return collab


def amend_terms(
    session: Session,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    terms: Terms,
    now: datetime | None = None,
) -> Collaboration:
    """New terms: a new version, proposed again; every participant's admin must accept it
    (the amending admin's acceptance is recorded with it).  Uses stop until then."""
    actor.require_role("admin")
    now = now or utcnow()
    collab = access_collaboration(session, actor.org_id, collaboration_id)
    if collab.status == "ended":
        raise CollaborationNotActive("the collaboration has ended")
    parties = parties_of(session, collab.id)
    terms = _check_terms(session, parties.recipient.id, terms, now)
    _apply_terms(collab, terms)
    collab.version += 1
    collab.status = "proposed"
    collab.activated_at = None
    session.flush()
    _record_step(session, collab, actor, "linkage.proposed", now, terms)
    accept(session, actor=actor, collaboration_id=collab.id, version=collab.version, now=now)
    return collab


def accept(
    session: Session,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    version: int | None = None,
    now: datetime | None = None,
) -> Collaboration:
    """The actor's organization's admin accepts the current terms (``version``, when given,
    must be the current one: the terms read are the terms accepted).  The collaboration
    becomes active once every participant accepted this version."""
    actor.require_role("admin")
    now = now or utcnow()
    collab = session.scalars(
        select(Collaboration).where(Collaboration.id == collaboration_id).with_for_update()
    ).one_or_none()
    if collab is None or role_of(session, collaboration_id, actor.org_id) is None:
        raise CollaborationNotFound("no such collaboration")
    if version is not None and version != collab.version:
        raise TermsChanged(
            f"the terms changed: version {collab.version} is current, not {version}; "
            "read them again and accept the current version"
        )
    status = effective_status(collab, now)
    if status in ("ended", "expired"):
        raise CollaborationNotActive(f"the collaboration is {status}; it cannot be accepted")
    mine = session.scalars(
        select(Participant).where(
            Participant.collaboration_id == collab.id,
            Participant.organization_id == actor.org_id,
        )
    ).one()
    if mine.accepted_version == collab.version:
        raise AlreadyAccepted("your organization accepted these terms already")
    mine.accepted_version = collab.version
    mine.accepted_by = actor_label(actor)
    mine.accepted_by_user_id = actor.user_id
    mine.accepted_at = now
    session.flush()
    mine.ledger_index = _record_step(session, collab, actor, "linkage.accepted", now)
    everyone = participants_of(session, collab.id)
    if all(p.accepted_version == collab.version for p in everyone):
        collab.status = "active"
        collab.activated_at = now
    session.flush()
    return collab


def end(
    session: Session, *, actor: Actor, collaboration_id: uuid.UUID, now: datetime | None = None
) -> Collaboration:
    """Either side's admin ends the collaboration; nothing can be uploaded, matched or asked
    afterwards (the logs and the ledger stay)."""
    actor.require_role("admin")
    now = now or utcnow()
    collab = access_collaboration(session, actor.org_id, collaboration_id)
    if collab.status == "ended":
        raise CollaborationNotActive("the collaboration has ended already")
    collab.status = "ended"
    collab.ended_at = now
    session.flush()
    _record_step(session, collab, actor, "linkage.ended", now)
    return collab


def _record_step(
    session: Session,
    collab: Collaboration,
    actor: Actor,
    kind: str,
    now: datetime,
    terms: Terms | None = None,
    refs: Mapping[str, Any] | None = None,
) -> int:
    parties = parties_of(session, collab.id)
    entry_refs: dict[str, Any] = {
        "collaboration": str(collab.id),
        "version": collab.version,
        "terms": (terms or terms_of(collab)).digest(),
        "provider": parties.provider.slug,
        "recipient": parties.recipient.slug,
    }
    if refs:
        entry_refs.update(refs)
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind=kind,
                org=_org_slug(session, actor.org_id),
                actor=actor_label(actor),
                time=now,
                purpose=collab.purpose,
                categories=tuple(collab.categories),
                refs=entry_refs,
            )
        ],
    )
    return appended.index


# --- datasets ------------------------------------------------------------------------------


def data_dir(settings: Settings, collaboration_id: uuid.UUID) -> Path:
    """Where a collaboration's uploaded tables are kept (never served back)."""
    return settings.home / "linkage" / str(collaboration_id)


def dataset_path(settings: Settings, dataset: Dataset) -> Path:
    return data_dir(settings, dataset.collaboration_id) / f"{dataset.kind}-{dataset.id}.parquet"


def _to_date(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError("a date as YYYY-MM-DD") from None


def _to_amount(text: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise ValueError("an amount in yen, e.g. 1980") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError("an amount of zero or more yen")
    return value


_ID_COLUMNS = tuple(Column(c, max_length=400) for c in IDENTIFIERS)
CUSTOMER_COLUMNS = (
    Column("person_id", max_length=36, unique=True),
    Column("customer_id", max_length=100, unique=True, aliases=("ref",)),
    *_ID_COLUMNS,
    Column("segment", max_length=40),
)
ORDER_COLUMNS = (
    Column("order_id", required=True, unique=True, max_length=100),
    Column("customer", required=True, max_length=100, aliases=("customer_id", "person_id")),
    Column("ordered_at", _to_date, required=True),
    Column("category", required=True, max_length=100),
    Column("amount", _to_amount, required=True),
)
MEMBER_COLUMNS = (
    Column("id", required=True, unique=True, max_length=100, aliases=("member_id",)),
    *_ID_COLUMNS,
)


def read_rows(
    data: bytes,
    columns: Sequence[Column],
    *,
    fmt: Format = "csv",
    encoding: str | None = None,
    check: Callable[[list[tuple[int, dict[str, Any]]]], Iterable[RowError]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of an upload, every one valid or none (``InvalidInput`` lists the problems):
    CSV through the project's import core, or JSON lines with the same columns."""
    if fmt == "csv":
        rows, _ = parse(data, columns, encoding=encoding, check=check)
        return rows
    return _jsonl_rows(data, columns, check)


def _jsonl_rows(
    data: bytes,
    columns: Sequence[Column],
    check: Callable[[list[tuple[int, dict[str, Any]]]], Iterable[RowError]] | None,
) -> list[dict[str, Any]]:
    by_name: dict[str, Column] = {}
    for col in columns:
        by_name[col.field] = col
        for alias in col.aliases:
            by_name[alias] = col
    errors: list[RowError] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, set[Any]] = {c.field: set() for c in columns if c.unique}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            errors.append(RowError(number, "", "not a JSON object"))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(number, "", "not a JSON object"))
            continue
        values: dict[str, Any] = {c.field: None for c in columns}
        for key, raw in obj.items():
            found = by_name.get(key)
            if found is None:
                errors.append(RowError(number, key, "unknown field"))
                continue
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            text = raw.strip() if isinstance(raw, str) else str(raw)
            if found.max_length is not None and len(text) > found.max_length:
                errors.append(RowError(number, key, f"longer than {found.max_length} characters"))
                continue
            try:
                values[found.field] = found.convert(text)
            except ValueError as exc:
                errors.append(RowError(number, key, str(exc)))
        for col in columns:
            value = values[col.field]
            if col.required and value is None:
                errors.append(RowError(number, col.field, "required"))
            elif col.unique and value is not None:
                if value in seen[col.field]:
                    errors.append(RowError(number, col.field, "repeats an earlier line"))
                seen[col.field].add(value)
        rows.append((number, values))
    if not rows and not errors:
        raise InvalidInput("the upload holds no lines")
    if check is not None and not errors:
        errors.extend(check(rows))
    if errors:
        raise InvalidInput(
            f"{len(errors)} problem(s) in the upload; nothing was stored",
            errors=[e.as_dict() for e in errors[:100]],
        )
    return [values for _, values in rows]


def _normalised(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str | None]]:
    """Column-wise normalised identifiers of the rows (``normalize.normalize_record``)."""
    out: dict[str, list[str | None]] = {c: [] for c in (*IDENTIFIERS, *DERIVED)}
    for row in rows:
        record = normalize.normalize_record({c: row.get(c) for c in IDENTIFIERS})
        for c, values in out.items():
            values.append(record.get(c))
    return out


def _store(
    session: Session,
    settings: Settings,
    collab: Collaboration,
    actor: Actor,
    kind: str,
    table: pa.Table,
    now: datetime,
) -> Dataset:
    """Write the table as a new Parquet file and point the collaboration's dataset at it."""
    # one upload at a time per collaboration: two at once would both replace the same row
    session.execute(select(Collaboration.id).where(Collaboration.id == collab.id).with_for_update())
    old = session.scalars(
        select(Dataset).where(Dataset.collaboration_id == collab.id, Dataset.kind == kind)
    ).one_or_none()
    if old is not None:
        session.delete(old)
        session.flush()
    dataset = Dataset(
        id=uuid.uuid4(),
        collaboration_id=collab.id,
        organization_id=actor.org_id,
        kind=kind,
        rows=table.num_rows,
        sha256="",
        uploaded_by=actor_label(actor),
        uploaded_at=now,
    )
    path = dataset_path(settings, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    dataset.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    session.add(dataset)
    session.flush()
    dataset.ledger_index = _record_step(
        session,
        collab,
        actor,
        "linkage.dataset",
        now,
        refs={"dataset": kind, "rows": table.num_rows, "sha256": dataset.sha256},
    )
    session.flush()
    return dataset


def get_dataset(session: Session, collaboration_id: uuid.UUID, kind: str) -> Dataset:
    found = session.scalars(
        select(Dataset).where(Dataset.collaboration_id == collaboration_id, Dataset.kind == kind)
    ).one_or_none()
    if found is None:
        raise DatasetMissing(f"the {kind} table has not been uploaded yet")
    return found


def _usable_for(
    session: Session, actor: Actor, collaboration_id: uuid.UUID, role: Role, what: str
) -> Collaboration:
    actor.require_role("member")
    collab = access_collaboration(session, actor.org_id, collaboration_id)
    _require_role_in(session, collab, actor, role, what)
    require_usable(collab)
    return collab


def upload_customers(
    session: Session,
    settings: Settings,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    data: bytes,
    fmt: Format = "csv",
    encoding: str | None = None,
    now: datetime | None = None,
) -> Dataset:
    """The provider's customer table: each row names a person by ``person_id`` (a tsunagu
    person the organization knows) or ``customer_id`` (its own reference), with the
    identifier columns and an optional ``segment``.  All rows or none."""
    now = now or utcnow()
    collab = _usable_for(session, actor, collaboration_id, "provider", "uploads customers")
    org_id = actor.org_id
    resolved: dict[int, uuid.UUID] = {}

    def check(rows: list[tuple[int, dict[str, Any]]]) -> Iterable[RowError]:
        refs = {v["customer_id"] for _, v in rows if v.get("customer_id")}
        ids: set[uuid.UUID] = set()
        problems: list[RowError] = []
        for number, values in rows:
            if values.get("person_id"):
                try:
                    ids.add(uuid.UUID(values["person_id"]))
                except ValueError:
                    problems.append(RowError(number, "person_id", "not a person id (a UUID)"))
            elif not values.get("customer_id"):
                problems.append(RowError(number, "customer_id", "give customer_id or person_id"))
        by_ref = _persons_by_ref(session, org_id, refs)
        known = _known_persons(session, org_id, ids)
        for number, values in rows:
            if values.get("person_id"):
                try:
                    pid = uuid.UUID(values["person_id"])
                except ValueError:
                    continue
                if pid not in known:
                    problems.append(
                        RowError(number, "person_id", "not a person your organization knows")
                    )
                else:
                    resolved[number] = pid
            elif values.get("customer_id"):
                found = by_ref.get(values["customer_id"])
                if found is None:
                    problems.append(
                        RowError(number, "customer_id", "no person with this customer id")
                    )
                else:
                    resolved[number] = found
        seen: dict[uuid.UUID, int] = {}
        for number, pid in sorted(resolved.items()):
            if pid in seen:
                problems.append(RowError(number, "customer_id", f"same person as row {seen[pid]}"))
            seen[pid] = number
        return problems

    rows = read_rows(data, CUSTOMER_COLUMNS, fmt=fmt, encoding=encoding, check=check)
    numbers = sorted(resolved)
    columns: dict[str, list[Any]] = {
        "person_id": [str(resolved[n]) for n in numbers],
        "customer_ref": [r.get("customer_id") for r in rows],
        "segment": [r.get("segment") for r in rows],
    }
    columns.update(_normalised(rows))
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    return _store(session, settings, collab, actor, "customers", table, now)


def _persons_by_ref(
    session: Session, organization_id: uuid.UUID, refs: set[str]
) -> dict[str, uuid.UUID]:
    out: dict[str, uuid.UUID] = {}
    ordered = sorted(refs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = session.execute(
            select(PersonLink.ref, PersonLink.person_id).where(
                PersonLink.organization_id == organization_id, PersonLink.ref.in_(chunk)
            )
        ).all()
        out.update((ref, person_id) for ref, person_id in rows)
    return out


def _known_persons(
    session: Session, organization_id: uuid.UUID, ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        out.update(
            session.scalars(
                select(PersonLink.person_id).where(
                    PersonLink.organization_id == organization_id,
                    PersonLink.person_id.in_(chunk),
                )
            )
        )
    return out


def upload_orders(
    session: Session,
    settings: Settings,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    data: bytes,
    fmt: Format = "csv",
    encoding: str | None = None,
    now: datetime | None = None,
) -> Dataset:
    """The provider's order table (``order_id, customer, ordered_at, category, amount``);
    ``customer`` is a customer id or person id of the customer table uploaded before.
    All rows or none."""
    now = now or utcnow()
    collab = _usable_for(session, actor, collaboration_id, "provider", "uploads orders")
    customers = dataset_path(settings, get_dataset(session, collab.id, "customers"))
    rows = read_rows(data, ORDER_COLUMNS, fmt=fmt, encoding=encoding)
    raw = pa.table(
        {
            "order_id": pa.array([r["order_id"] for r in rows], type=pa.string()),
            "customer": pa.array([r["customer"] for r in rows], type=pa.string()),
            "ordered_at": pa.array([r["ordered_at"] for r in rows], type=pa.date32()),
            "category": pa.array([r["category"] for r in rows], type=pa.string()),
            "amount": pa.array([r["amount"] for r in rows], type=pa.float64()),
        }
    )
    con = duckdb.connect()
    try:
        con.register("raw_orders", raw)
        con.execute(
            "CREATE TABLE cust AS SELECT person_id, customer_ref FROM read_parquet(?)",
            [str(customers)],
        )
        # a customer column names either the customer's own id or their person id
        con.execute(
            "CREATE TABLE resolved AS SELECT o.*, "
            "coalesce(r.person_id, p.person_id) AS person_id, row_number() OVER () AS n "
            "FROM raw_orders o "
            "LEFT JOIN cust r ON r.customer_ref = o.customer "
            "LEFT JOIN cust p ON p.person_id = o.customer"
        )
        unknown = con.execute(
            "SELECT n FROM resolved WHERE person_id IS NULL ORDER BY n LIMIT 100"
        ).fetchall()
        if unknown:
            total = con.execute("SELECT count(*) FROM resolved WHERE person_id IS NULL").fetchone()
            raise InvalidInput(
                f"{total[0] if total else len(unknown)} order(s) name a customer missing from "
                "the customer table; nothing was stored",
                errors=[
                    {
                        "row": int(n) + (1 if fmt == "csv" else 0),
                        "column": "customer",
                        "reason": "not in the customer table",
                    }
                    for (n,) in unknown
                ],
            )
        table = con.sql(
            "SELECT person_id, order_id, ordered_at, category, amount FROM resolved ORDER BY n"
        ).to_arrow_table()
    finally:
        con.close()
    return _store(session, settings, collab, actor, "orders", table, now)


def upload_members(
    session: Session,
    settings: Settings,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    data: bytes,
    fmt: Format = "csv",
    encoding: str | None = None,
    now: datetime | None = None,
) -> Dataset:
    """The recipient's member list: ``id`` (its member number) and identifier columns.
    All rows or none."""
    now = now or utcnow()
    collab = _usable_for(session, actor, collaboration_id, "recipient", "uploads members")
    matched_under = session.scalar(
        select(MatchRun.id)
        .where(MatchRun.collaboration_id == collab.id, MatchRun.version == collab.version)
        .limit(1)
    )
    if matched_under is not None:
        raise MembersFixed(
            "the member list is fixed once a match has run under this version of the terms; "
            "propose amended terms (both sides accept again) to replace it"
        )
    rows = read_rows(data, MEMBER_COLUMNS, fmt=fmt, encoding=encoding)
    columns: dict[str, list[Any]] = {"member_id": [r["id"] for r in rows]}
    columns.update(_normalised(rows))
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    return _store(session, settings, collab, actor, "members", table, now)


# --- pseudonyms and matching ----------------------------------------------------------------


def collaboration_key(settings: Settings, collaboration_id: uuid.UUID) -> bytes:
    """The collaboration's pseudonym key, derived from the platform's secret."""
    secret = hmac.digest(settings.resolved_secret_key().encode(), b"tsunagu/linkage/v1", "sha256")
    return pseudonym.derive_key(secret, str(collaboration_id))


def person_pid(key: bytes, person_id: uuid.UUID) -> str:
    """The provider-side pseudonymous id of a person in one collaboration (hex)."""
    return hmac.digest(key, b"person\x1f" + person_id.bytes, "sha256").hex()


def member_pid(key: bytes, member_id: str) -> str:
    """The recipient-side pseudonymous id of a member in one collaboration (hex)."""
    return hmac.digest(key, b"member\x1f" + member_id.encode(), "sha256").hex()


@dataclass(frozen=True)
class Consenting:
    """The provider's customers whose consent covers the collaboration at one instant."""

    batch: pdp.BatchDecision
    #: collaboration pseudonym (hex) → person id
    by_pid: dict[str, uuid.UUID] = field(repr=False)

    def arrow(self) -> pa.Table:
        """(person_id, pid) of the consenting persons, for DuckDB."""
        return pa.table(
            {
                "person_id": pa.array([str(p) for p in self.by_pid.values()], type=pa.string()),
                "pid": pa.array(list(self.by_pid), type=pa.string()),
            }
        )


def consenting_customers(
    session: Session,
    settings: Settings,
    pseudonym_key: bytes,
    collab: Collaboration,
    *,
    actor: str,
    at: datetime | None = None,
) -> Consenting:
    """Ask the decision point, in one batch, which uploaded customers' consent covers the
    agreement (purpose, the recipient, every category) at ``at``; the batch's ledger entries
    commit to the allowed and the denied set."""
    at = at or utcnow()
    parties = parties_of(session, collab.id)
    path = dataset_path(settings, get_dataset(session, collab.id, "customers"))
    column = pq.read_table(path, columns=["person_id"]).column("person_id").to_pylist()
    batch = pdp.decide_many(
        session,
        pseudonym_key,
        pdp.Reader(parties.recipient.id, parties.recipient.slug),
        collab.purpose,
        collab.categories,
        actor=actor,
        person_ids=[uuid.UUID(p) for p in column],
        at=at,
    )
    key = collaboration_key(settings, collab.id)
    by_pid = {person_pid(key, p): p for p in batch.allowed}
    return Consenting(batch=batch, by_pid=by_pid)


Method = Literal["pseudonym", "probabilistic"]
#: the matching methods a run may use (the issue's third strength, PSI, runs between the
#: parties themselves, without the platform: ``tsunagu.linkage.psi``)
METHODS: tuple[str, ...] = ("pseudonym", "probabilistic")
#: a borderline pair's odds lie within this factor of the threshold's odds (±2 bits of
#: match weight): the pairs a clerical review would look at
BORDERLINE_ODDS = 4.0
#: at most this many pairs nearest the threshold are inspected to count the borderline ones
_BORDERLINE_LIMIT = 10_000


def _check_method(method: str, threshold: float | None) -> None:
    """Refuse an unknown method or a threshold it cannot use, before anything is asked."""
    if method not in METHODS:
        raise InvalidInput(
            f"method {method!r} is unknown: use 'pseudonym' (exact keyed pseudonyms) or "
            "'probabilistic' (Splink, for typos, moves and name changes)"
        )
    if threshold is None:
        return
    if method != "probabilistic":
        raise InvalidInput(
            "a threshold applies to probabilistic matching only; keyed pseudonyms match "
            "exactly or not at all"
        )
    if isinstance(threshold, bool) or not math.isfinite(threshold) or not 0 < threshold <= 1:
        raise InvalidInput(
            f"threshold {threshold} is not a match probability: give a number above 0 and "
            "at most 1 (e.g. 0.9), or leave it out for the best expected F1"
        )


def _pseudonym_pairs(con: duckdb.DuckDBPyConnection, key: bytes) -> list[tuple[str, str, str]]:
    """Keyed pseudonyms of ``left_in`` and ``right_in`` joined one-to-one in DuckDB."""
    pseudonym.pseudonymise(con, "left_in", key, out="left_p")
    pseudonym.pseudonymise(con, "right_in", key, out="right_p")
    pseudonym.match(con, "left_p", "right_p", out="pairs")
    pairs = con.execute("SELECT left_id, right_id, rule FROM pairs ORDER BY left_id").fetchall()
    return [(str(a), str(b), str(r)) for a, b, r in pairs]


def _link_table(con: duckdb.DuckDBPyConnection, table: str) -> pa.Table:
    """``table``'s pseudonymous id and identifier columns in the shape ``probabilistic.link``
    reads."""
    columns = ", ".join(IDENTIFIERS)
    return con.sql(f"SELECT id, {columns} FROM {table} ORDER BY id").to_arrow_table()  # noqa: S608


def _probabilistic_pairs(
    con: duckdb.DuckDBPyConnection, threshold: float | None
) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    """Splink over ``left_in`` × ``right_in`` (pseudonymous ids, stored normalised values),
    one-to-one; the pairs and the run's quality report (no identifier in it)."""
    result = probabilistic.link(
        _link_table(con, "left_in"),
        _link_table(con, "right_in"),
        threshold=threshold,
        borderline=_BORDERLINE_LIMIT,
    )
    lefts = result.pairs.column("left_id").to_pylist()
    rights = result.pairs.column("right_id").to_pylist()
    pairs = sorted((str(a), str(b), "probabilistic") for a, b in zip(lefts, rights, strict=True))
    return pairs, _quality(result)


def _odds(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return p / (1 - p)


def _quality(result: probabilistic.LinkResult) -> dict[str, Any]:
    """What the run stores about its quality: counts and the model's estimates only.

    The link report's borderline pairs carry both sides' values; only their number is
    kept, since the recipient reading the run must never see the provider's customers."""
    report = result.report
    low, high = _odds(result.threshold) / BORDERLINE_ODDS, _odds(result.threshold) * BORDERLINE_ODDS
    borderline = sum(
        1 for pair in report.borderline if low <= _odds(float(pair["match_probability"])) <= high
    )

    def estimate(e: probabilistic.ThresholdEstimate) -> dict[str, Any]:
        return {
            "threshold": e.threshold,
            "pairs": e.pairs,
            "precision": e.precision,
            "recall": e.recall,
            "f1": e.f1,
        }

    return {
        "threshold": result.threshold,
        "threshold_source": report.threshold_source,
        "pairs": result.pairs.num_rows,
        "records_provider": report.records_left,
        "records_recipient": report.records_right,
        "candidate_pairs": report.candidate_pairs,
        "expected_matches": report.expected_matches,
        "precision": report.estimate.precision,
        "recall": report.estimate.recall,
        "f1": report.estimate.f1,
        "borderline_pairs": borderline,
        "borderline_odds_factor": BORDERLINE_ODDS,
        "by_threshold": [estimate(e) for e in report.by_threshold],
    }


def run_match(
    session: Session,
    settings: Settings,
    pseudonym_key: bytes,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    method: str = "pseudonym",
    threshold: float | None = None,
    now: datetime | None = None,
) -> MatchRun:
    """Restrict the customers to consenting persons, then link them to the members
    one-to-one; stores the match table (pseudonyms only) and the run's counts.

    ``method="pseudonym"`` (the default) joins keyed pseudonyms of the normalised
    identifiers exactly; ``method="probabilistic"`` scores the same consenting customers
    against the members with Splink (typos, moves, name changes) and links the pairs at or
    above ``threshold`` (default: the best expected F1), keeping a quality report."""
    _check_method(method, threshold)
    now = now or utcnow()
    # the provider's admin decides when its customers are matched: a recipient that could
    # re-run the match at will over member lists it controls could difference one person
    collab = _usable_for(session, actor, collaboration_id, "provider", "runs the match")
    actor.require_role("admin")
    require_usable(collab, now)
    label = actor_label(actor)
    customers = dataset_path(settings, get_dataset(session, collab.id, "customers"))
    members = dataset_path(settings, get_dataset(session, collab.id, "members"))
    consenting = consenting_customers(session, settings, pseudonym_key, collab, actor=label, at=now)
    key = collaboration_key(settings, collab.id)
    identifiers = ", ".join(f"c.{c}" for c in (*IDENTIFIERS, *DERIVED))
    con = duckdb.connect()
    try:
        con.register("allowed_arrow", consenting.arrow())
        con.execute("CREATE TABLE allowed AS SELECT * FROM allowed_arrow")
        # the consent filter comes first: a non-consenting customer never reaches the HMAC
        # nor the probabilistic model (whose parameters every scored pair depends on)
        con.execute(
            f"CREATE TABLE left_in AS SELECT a.pid AS id, {identifiers} "  # noqa: S608
            "FROM read_parquet(?) c JOIN allowed a USING (person_id)",
            [str(customers)],
        )
        member_ids = pq.read_table(members, columns=["member_id"]).column("member_id")
        mids = [str(m) for m in member_ids.to_pylist()]
        con.register(
            "member_pids",
            pa.table(
                {
                    "member_id": pa.array(mids, type=pa.string()),
                    "mpid": pa.array([member_pid(key, m) for m in mids], type=pa.string()),
                }
            ),
        )
        con.execute(
            f"CREATE TABLE right_in AS SELECT p.mpid AS id, {identifiers} "  # noqa: S608
            "FROM read_parquet(?) c JOIN member_pids p USING (member_id)",
            [str(members)],
        )
        quality: dict[str, Any] | None = None
        if method == "probabilistic":
            pairs, quality = _probabilistic_pairs(con, threshold)
        else:
            pairs = _pseudonym_pairs(con, key)
        total_customers = pq.read_metadata(customers).num_rows
    finally:
        con.close()
    matched = len(pairs)
    by_rule = dict(Counter(rule for _, _, rule in pairs))
    run = MatchRun(
        collaboration_id=collab.id,
        version=collab.version,
        actor=label,
        ran_at=now,
        customers=total_customers,
        consenting=len(consenting.by_pid),
        members=len(mids),
        matched=matched,
        by_rule=by_rule,
        consent_ledger_indexes=list(consenting.batch.ledger_indexes),
        method=method,
        quality=quality,
    )
    session.add(run)
    session.flush()
    # the previous runs' pairs are replaced: only the latest consent filter counts
    session.execute(
        delete(Match).where(
            Match.run_id.in_(
                select(MatchRun.id).where(
                    MatchRun.collaboration_id == collab.id, MatchRun.id != run.id
                )
            )
        )
    )
    for start in range(0, len(pairs), _MATCH_BATCH):
        insert_rows(
            session,
            Match.__table__,  # type: ignore[arg-type]
            [
                {"run_id": run.id, "provider_pid": left, "recipient_pid": right, "rule": rule}
                for left, right, rule in pairs[start : start + _MATCH_BATCH]
            ],
        )
    linked = (consenting.by_pid[left].bytes for left, _, _ in pairs)
    parties = parties_of(session, collab.id)
    refs: dict[str, Any] = {
        "collaboration": str(collab.id),
        "run": str(run.id),
        "recipient": parties.recipient.slug,
        "consent_entries": list(consenting.batch.ledger_indexes),
        "matched": matched,
        "method": method,
    }
    if quality is not None:
        refs["threshold"] = quality["threshold"]
        refs["threshold_source"] = quality["threshold_source"]
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind="linkage.match",
                org=parties.provider.slug,
                actor=label,
                time=now,
                purpose=collab.purpose,
                categories=tuple(collab.categories),
                refs=refs,
                members=tuple(pseudonym_of_bytes(pseudonym_key, p) for p in linked),
            )
        ],
    )
    run.ledger_index = appended.index
    session.flush()
    return run


def latest_run(session: Session, collaboration_id: uuid.UUID) -> MatchRun:
    found = session.scalars(
        select(MatchRun)
        .where(MatchRun.collaboration_id == collaboration_id)
        .order_by(MatchRun.ran_at.desc(), MatchRun.id.desc())
        .limit(1)
    ).one_or_none()
    if found is None:
        raise NoMatchRun("no matching has run yet: upload both sides' tables and run it")
    return found


def match_summary(
    session: Session, organization_id: uuid.UUID, collaboration_id: uuid.UUID
) -> MatchRun:
    """The latest run's counts, for any participant."""
    access_collaboration(session, organization_id, collaboration_id)
    return latest_run(session, collaboration_id)


def matched_pids(session: Session, run_id: uuid.UUID) -> list[str]:
    """The provider-side pseudonyms linked in a run (for the clean room's member flag)."""
    return list(session.scalars(select(Match.provider_pid).where(Match.run_id == run_id)))


__all__ = [
    "CUSTOMER_COLUMNS",
    "MEMBER_COLUMNS",
    "METHODS",
    "ORDER_COLUMNS",
    "Consenting",
    "Method",
    "Parties",
    "Terms",
    "accept",
    "access_collaboration",
    "amend_terms",
    "collaboration_key",
    "consenting_customers",
    "data_dir",
    "dataset_path",
    "effective_status",
    "end",
    "get_dataset",
    "latest_run",
    "list_collaborations",
    "match_summary",
    "matched_pids",
    "member_pid",
    "participants_of",
    "parties_of",
    "person_pid",
    "propose",
    "read_rows",
    "require_usable",
    "role_of",
    "run_match",
    "terms_of",
    "upload_customers",
    "upload_members",
    "upload_orders",
]
