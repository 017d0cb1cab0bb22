"""Signed notes, checkpoints and cosignatures in the C2SP formats — pure, no I/O.

- signed-note (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank line, then
  one line per signature ``— <name> <base64(key id ‖ signature)>``.  For Ed25519 the key id
  is ``SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]`` and the signature covers the text;
  the verifier key is published as ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``.
- tlog-checkpoint (c2sp.org/tlog-checkpoint): the text is ``origin\\nsize\\nbase64(root)\\n``.
- tlog-cosignature (c2sp.org/tlog-cosignature): a witness signs
  ``cosignature/v1\\ntime <T>\\n`` followed by the checkpoint text, with key-id byte 0x04;
  its signature bytes are ``timestamp (u64, big-endian) ‖ Ed25519 signature``.

Only ``cryptography``'s Ed25519 is used, so the module doubles as the third-party verifier.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"


class NoteError(ValueError):
    """A note, key or checkpoint that does not parse or does not verify."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"invalid key name {name!r}")


@dataclass(frozen=True)
class Signer:
    """An Ed25519 key with its note name; ``alg`` 0x01 signs notes, 0x04 cosigns."""

    name: str
    private_key: Ed25519PrivateKey
    alg: int = ALG_ED25519

    @classmethod
    def from_seed(cls, name: str, seed: bytes, alg: int = ALG_ED25519) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), alg)

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key, self.alg)

    def vkey(self) -> str:
        """The verifier key in the signed-note text form."""
        material = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes
    alg: int = ALG_ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key, self.alg)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``name+hexid+base64(alg ‖ key)``, checking the key id."""
        try:
            name, hexid, material = vkey.strip().split("+", 2)
            raw = base64.b64decode(material, validate=True)
            kid = bytes.fromhex(hexid)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("malformed verifier key") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_id != kid:
            raise NoteError("verifier key id does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{EM_DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def sign_note(text: str, signer: Signer) -> Signature:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    sig = signer.private_key.sign(text.encode())
    return Signature(signer.name, signer.key_id, sig)


def parse_note(raw: str) -> Note:
    """Split a signed note into its text and signature lines (nothing is verified)."""
    head, sep, tail = raw.partition("\n\n")
    if not sep or not tail.endswith("\n"):
        raise NoteError("a signed note needs a text, a blank line and signature lines")
    signatures: list[Signature] = []
    for line in tail[:-1].split("\n"):
        prefix = EM_DASH + " "
        if not line.startswith(prefix):
            raise NoteError("malformed signature line")
        try:
            name, blob = line[len(prefix) :].split(" ")
            raw_sig = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("malformed signature line") from exc
        if len(raw_sig) < 5:
            raise NoteError("signature too short")
        signatures.append(Signature(name, raw_sig[:4], raw_sig[4:]))
    return Note(head + "\n", tuple(signatures))


def note_signed_by(note: Note, verifier: Verifier) -> bool:
    """True when ``note`` carries a valid Ed25519 note signature of ``verifier``."""
    for sig in note.signatures:
        if sig.name == verifier.name and sig.key_id == verifier.key_id:
            return verifier.verify(note.text.encode(), sig.signature)
    return False


# --- checkpoints ------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint needs an origin, a size and a root hash")
        origin, size_s, root_s = lines[0], lines[1], lines[2]
        if not origin or not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise NoteError("malformed checkpoint")
        try:
            root = base64.b64decode(root_s, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed checkpoint root") from exc
        if len(root) != 32:
            raise NoteError("checkpoint root is not a SHA-256 hash")
        return cls(origin, int(size_s), root)


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a signed note with the log's signature."""
    text = checkpoint.text()
    return Note(text, (sign_note(text, signer),)).render()


def open_checkpoint(raw: str, log: Verifier) -> tuple[Checkpoint, Note]:
    """Parse a signed checkpoint and check the log's signature and origin."""
    note = parse_note(raw)
    if not note_signed_by(note, log):
        raise NoteError("the checkpoint is not signed by the log's key")
    checkpoint = Checkpoint.parse_text(note.text)
    if checkpoint.origin != log.name:
        raise NoteError("the checkpoint names another log")
    return checkpoint, note


# --- cosignatures -----------------------------------------------------------------------


ALARM_CONTEXT = b"tsunagu/ledger-alarm/v1\n"


def alarm_message(detail: str) -> bytes:
    """What a witness signs to report an alarm.  The context line keeps an alarm signature
    from ever doubling as a cosignature (whose message starts ``cosignature/v1``)."""
    return ALARM_CONTEXT + detail.encode()


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_text.encode()


def cosign(checkpoint_text: str, witness: Signer, timestamp: int) -> Signature:
    if witness.alg != ALG_COSIGNATURE_V1:
        raise NoteError("a witness key cosigns with the cosignature/v1 key id")
    sig = witness.private_key.sign(cosigned_message(checkpoint_text, timestamp))
    return Signature(witness.name, witness.key_id, timestamp.to_bytes(8, "big") + sig)


def verify_cosignature(checkpoint_text: str, sig: Signature, witness: Verifier) -> int | None:
    """The cosignature's timestamp when it is ``witness``'s valid cosignature, else None."""
    if sig.name != witness.name or sig.key_id != witness.key_id or len(sig.signature) != 72:
        return None
    timestamp = int.from_bytes(sig.signature[:8], "big")
    if not witness.verify(cosigned_message(checkpoint_text, timestamp), sig.signature[8:]):
        return None
    return timestamp
