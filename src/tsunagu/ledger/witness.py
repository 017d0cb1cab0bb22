"""A witness of a tsunagu ledger: it cosigns a checkpoint only when it extends the last one
it cosigned, and refuses — raising an alarm — when the log forked or rewrote its history.

The decision is pure (``decide``): given the last cosigned ``(size, root)`` and a new signed
checkpoint with the log's consistency proof, the witness

- cosigns the first checkpoint it ever sees (trust on first use, recorded in its state);
- cosigns a larger checkpoint whose consistency proof from the last cosigned one verifies;
- does nothing when the checkpoint is the one it already cosigned;
- refuses a smaller size (the log shrank), another root for the same size (a fork) and a
  larger size whose proof does not verify (history was rewritten).

A witness's home directory holds its Ed25519 seed (``witness.key``, mode 0600, the
cosignature/v1 key of C2SP tlog-cosignature) and its state (``state.json``: the pinned log
key, the last cosigned checkpoint, the alarms raised).  The state is the witness's memory,
so it is replaced atomically (a temporary file renamed over it) and written *before* a
cosignature leaves the machine: a witness never cosigns two histories.

``run_round`` is one round against a running log over its HTTP API (``verify.RemoteLog``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tsunagu.ledger import merkle
from tsunagu.ledger.auditor import RemoteError, RemoteLog
from tsunagu.ledger.entry import format_time
from tsunagu.ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    Note,
    NoteError,
    Signer,
    Verifier,
    alarm_message,
    cosign,
    open_checkpoint,
)

KEY_FILE = "witness.key"
STATE_FILE = "state.json"
STATE_VERSION = 1

CHECKPOINT_PATH = "/api/v1/ledger/checkpoint"
CONSISTENCY_PATH = "/api/v1/ledger/get-sth-consistency"
COSIGNATURES_PATH = "/api/v1/ledger/cosignatures"
ALARMS_PATH = "/api/v1/ledger/alarms"


class WitnessError(Exception):
    """The witness cannot work: no or unreadable home, a bad key, an unusable log answer."""


# --- the decision (pure) -------------------------------------------------------------------


class Verdict(enum.StrEnum):
    COSIGN = "cosign"
    UNCHANGED = "unchanged"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def needs_proof(last_size: int | None, checkpoint: Checkpoint) -> bool:
    """Whether judging ``checkpoint`` needs the log's consistency proof from ``last_size``."""
    return last_size is not None and 0 < last_size < checkpoint.size


def decide(
    last: tuple[int, bytes] | None,
    checkpoint: Checkpoint,
    proof: Sequence[bytes] | None = None,
) -> Decision:
    """What to do with a checkpoint whose log signature was already checked.

    ``last`` is the ``(size, root)`` cosigned before (None: never); ``proof`` the log's
    consistency proof from ``last`` to ``checkpoint`` when ``needs_proof`` says one is needed.
    """
    if last is None:
        return Decision(
            Verdict.COSIGN, f"first checkpoint seen (size {checkpoint.size}): trusted on first use"
        )
    size, root = last
    if checkpoint.size < size:
        return Decision(
            Verdict.REFUSE,
            f"the log shrank: size {checkpoint.size} after size {size} was cosigned",
        )
    if checkpoint.size == size:
        if checkpoint.root == root:
            return Decision(Verdict.UNCHANGED, f"size {size} is already cosigned")
        return Decision(
            Verdict.REFUSE,
            f"the log forked: two different roots for size {size} "
            f"(cosigned {_b64(root)}, now {_b64(checkpoint.root)})",
        )
    if not merkle.verify_consistency(size, checkpoint.size, root, checkpoint.root, proof or ()):
        return Decision(
            Verdict.REFUSE,
            f"history was rewritten: the checkpoint of size {checkpoint.size} does not "
            f"extend the cosigned checkpoint of size {size}",
        )
    return Decision(Verdict.COSIGN, f"size {checkpoint.size} extends cosigned size {size}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the state ------------------------------------------------------------------------------


@dataclass
class Alarm:
    detail: str
    first_seen: str
    last_seen: str
    count: int = 1
    delivered: bool = False


@dataclass
class WitnessState:
    """What a witness remembers between rounds (``state.json``)."""

    name: str
    log_vkey: str
    created_at: str
    #: the last cosigned checkpoint: size, base64 root, the cosigned note, when, delivered
    size: int | None = None
    root: str | None = None
    cosigned_note: str | None = None
    cosigned_at: str | None = None
    delivered: bool = False
    #: the checkpoint accepted without proof, the first time the log was seen
    trusted_first_use: dict[str, Any] | None = None
    alarms: list[Alarm] = field(default_factory=list)

    @property
    def last(self) -> tuple[int, bytes] | None:
        if self.size is None or self.root is None:
            return None
        return self.size, base64.b64decode(self.root)

    def record_alarm(self, detail: str, now: datetime) -> Alarm:
        """Record ``detail`` (a repeat of the latest alarm only counts it again)."""
        when = format_time(now)
        if self.alarms and self.alarms[-1].detail == detail:
            alarm = self.alarms[-1]
            alarm.last_seen = when
            alarm.count += 1
            return alarm
        alarm = Alarm(detail=detail, first_seen=when, last_seen=when)
        self.alarms.append(alarm)
        return alarm

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WitnessState:
        if data.get("version") != STATE_VERSION:
            raise WitnessError(f"unsupported witness state version {data.get('version')!r}")
        fields = {k: v for k, v in data.items() if k != "version"}
        fields["alarms"] = [Alarm(**a) for a in fields.get("alarms", [])]
        return cls(**fields)


@dataclass(frozen=True)
class WitnessHome:
    """A witness's directory: its key and its state."""

    path: Path

    @property
    def key_path(self) -> Path:
        return self.path / KEY_FILE

    @property
    def state_path(self) -> Path:
        return self.path / STATE_FILE

    def init(self, name: str, log_vkey: str, now: datetime) -> Signer:
        """Create the witness key and state; refuses to overwrite an existing witness."""
        parse_log_key(log_vkey)
        try:
            Signer.from_seed(name, bytes(32), alg=ALG_COSIGNATURE_V1)
        except NoteError as exc:
            raise WitnessError(f"{exc}: a witness name has no spaces and no '+'") from exc
        if self.key_path.exists() or self.state_path.exists():
            raise WitnessError(f"{self.path} already holds a witness")
        self.path.mkdir(parents=True, exist_ok=True)
        seed = secrets.token_bytes(32)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_b64(seed) + "\n")
        self.save(WitnessState(name=name, log_vkey=log_vkey.strip(), created_at=format_time(now)))
        return Signer.from_seed(name, seed, alg=ALG_COSIGNATURE_V1)

    def signer(self, state: WitnessState) -> Signer:
        try:
            seed = base64.b64decode(self.key_path.read_text().strip(), validate=True)
        except FileNotFoundError as exc:
            raise WitnessError(
                f"no witness key in {self.path} (run `tsunagu witness init`)"
            ) from exc
        except binascii.Error as exc:
            raise WitnessError(f"{self.key_path} is not a base64 seed") from exc
        if len(seed) != 32:
            raise WitnessError(f"{self.key_path} does not hold a 32-byte seed")
        return Signer.from_seed(state.name, seed, alg=ALG_COSIGNATURE_V1)

    def load(self) -> WitnessState:
        try:
            data = json.loads(self.state_path.read_text())
        except FileNotFoundError as exc:
            raise WitnessError(
                f"no witness state in {self.path} (run `tsunagu witness init`)"
            ) from exc
        except json.JSONDecodeError as exc:
            raise WitnessError(f"{self.state_path} is not valid JSON") from exc
        try:
            return WitnessState.from_json(data)
        except TypeError as exc:
            raise WitnessError(f"{self.state_path} is not a witness state") from exc

    def save(self, state: WitnessState) -> None:
        """Replace the state atomically: a crash leaves the old state or the new one."""
        fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=self.path)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(state.to_json(), fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def parse_log_key(vkey: str) -> Verifier:
    try:
        log = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise WitnessError(f"not a log verifier key: {exc}") from exc
    if log.alg != ALG_ED25519:
        raise WitnessError("the log key must be an Ed25519 note key (0x01)")
    return log


# --- one round against a running log ---------------------------------------------------------


@dataclass(frozen=True)
class RoundResult:
    decision: Decision
    checkpoint: Checkpoint
    #: a problem delivering the cosignature or the alarm (the decision itself stands)
    delivery_problem: str | None = None


def run_round(remote: RemoteLog, home: WitnessHome, now: datetime) -> RoundResult:
    """Fetch, judge, cosign or refuse, record, deliver.

    Raises ``RemoteError`` when the log cannot be read and ``WitnessError`` when its
    checkpoint is not signed by the pinned key (which proves nothing about the log).
    """
    state = home.load()
    signer = home.signer(state)
    log = parse_log_key(state.log_vkey)
    raw = remote.get_text(CHECKPOINT_PATH)
    try:
        checkpoint, note = open_checkpoint(raw, log)
    except NoteError as exc:
        raise WitnessError(f"the log's checkpoint does not verify: {exc}") from exc
    last = state.last
    proof: list[bytes] | None = None
    if needs_proof(state.size, checkpoint):
        proof = remote.get_hashes(
            CONSISTENCY_PATH, {"first": state.size, "second": checkpoint.size}, "consistency"
        )
    decision = decide(last, checkpoint, proof)

    if decision.verdict is Verdict.REFUSE:
        alarm = state.record_alarm(decision.reason, now)
        home.save(state)
        problem = _deliver_alarm(remote, signer, decision.reason)
        if problem is None and not alarm.delivered:
            alarm.delivered = True
            home.save(state)
        return RoundResult(decision, checkpoint, problem)

    if decision.verdict is Verdict.COSIGN:
        log_only = Note(note.text, tuple(s for s in note.signatures if s.name == log.name))
        signature = cosign(note.text, signer, int(now.timestamp()))
        if last is None:
            state.trusted_first_use = {
                "size": checkpoint.size,
                "root": _b64(checkpoint.root),
                "at": format_time(now),
            }
        state.size, state.root = checkpoint.size, _b64(checkpoint.root)
        state.cosigned_note = log_only.render() + signature.line()
        state.cosigned_at = format_time(now)
        state.delivered = False
        # remembered before it leaves: after a crash the witness still knows what it signed
        home.save(state)

    if not state.delivered and state.cosigned_note is not None:
        try:
            remote.post(COSIGNATURES_PATH, state.cosigned_note.encode(), "text/plain")
        except RemoteError as exc:
            return RoundResult(decision, checkpoint, f"the cosignature was not delivered: {exc}")
        state.delivered = True
        home.save(state)
    return RoundResult(decision, checkpoint)


def alarm_body(signer: Signer, detail: str) -> bytes:
    """The JSON an alarm is posted as: the detail signed by the witness key."""
    signature = signer.private_key.sign(alarm_message(detail))
    return json.dumps(
        {"witness": signer.name, "detail": detail, "signature": _b64(signature)}
    ).encode()


def _deliver_alarm(remote: RemoteLog, signer: Signer, detail: str) -> str | None:
    try:
        remote.post(ALARMS_PATH, alarm_body(signer, detail), "application/json")
    except RemoteError as exc:
        return f"the alarm was not delivered: {exc}"
    return None
