"""Signed notes, checkpoints and cosignatures in the C2SP formats."""

from __future__ import annotations

import base64

import pytest

from tsunagu.ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
    verify_cosignature,
)

LOG = Signer.from_seed("tsunagu.example/log", bytes(range(32)))
WITNESS = Signer.from_seed("witness.example/w1", bytes(32), alg=ALG_COSIGNATURE_V1)
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


class TestCheckpoint:
    def test_signed_checkpoint_has_the_c2sp_layout(self) -> None:
        raw = sign_checkpoint(Checkpoint(LOG.name, 8, ROOT), LOG)
        lines = raw.split("\n")
        assert lines[0:3] == [LOG.name, "8", base64.b64encode(ROOT).decode()]
        assert lines[3] == ""
        assert lines[4].startswith(f"\u2014 {LOG.name} ")
        blob = base64.b64decode(lines[4].split(" ")[2])
        assert blob[:4] == LOG.key_id
        assert len(blob) == 4 + 64
        assert raw.endswith("\n")

    def test_round_trip_verifies_with_the_published_key(self) -> None:
        raw = sign_checkpoint(Checkpoint(LOG.name, 8, ROOT), LOG)
        checkpoint, _ = open_checkpoint(raw, Verifier.from_vkey(LOG.vkey()))
        assert checkpoint == Checkpoint(LOG.name, 8, ROOT)

    def test_an_edited_size_is_rejected(self) -> None:
        raw = sign_checkpoint(Checkpoint(LOG.name, 8, ROOT), LOG).replace("\n8\n", "\n9\n", 1)
        with pytest.raises(NoteError):
            open_checkpoint(raw, Verifier.from_vkey(LOG.vkey()))

    def test_another_keys_signature_is_rejected(self) -> None:
        other = Signer.from_seed(LOG.name, bytes([7]) * 32)
        raw = sign_checkpoint(Checkpoint(LOG.name, 8, ROOT), other)
        with pytest.raises(NoteError):
            open_checkpoint(raw, Verifier.from_vkey(LOG.vkey()))

    def test_malformed_notes_are_rejected(self) -> None:
        for raw in ["", "a\n1\n", "a\n1\nxx\n\n\u2014 a !!!\n"]:
            with pytest.raises(NoteError):
                open_checkpoint(raw, Verifier.from_vkey(LOG.vkey()))


class TestVerifierKey:
    def test_vkey_has_name_key_id_and_typed_key(self) -> None:
        name, hexid, material = LOG.vkey().split("+", 2)
        assert name == LOG.name
        assert bytes.fromhex(hexid) == LOG.key_id
        assert base64.b64decode(material) == b"\x01" + LOG.public_key

    def test_vkey_with_a_wrong_key_id_is_refused(self) -> None:
        name, _, material = LOG.vkey().split("+", 2)
        with pytest.raises(NoteError):
            Verifier.from_vkey(f"{name}+00000000+{material}")


class TestCosignature:
    def test_witness_cosignature_verifies_and_carries_its_time(self) -> None:
        text = Checkpoint(LOG.name, 8, ROOT).text()
        sig = cosign(text, WITNESS, 1_700_000_000)
        witness = Verifier.from_vkey(WITNESS.vkey())
        assert verify_cosignature(text, sig, witness) == 1_700_000_000

    def test_cosignature_over_another_checkpoint_fails(self) -> None:
        sig = cosign(Checkpoint(LOG.name, 8, ROOT).text(), WITNESS, 1)
        other = Checkpoint(LOG.name, 9, ROOT).text()
        assert verify_cosignature(other, sig, Verifier.from_vkey(WITNESS.vkey())) is None

    def test_cosigned_note_parses_with_both_signatures(self) -> None:
        raw = sign_checkpoint(Checkpoint(LOG.name, 8, ROOT), LOG)
        sig = cosign(Checkpoint(LOG.name, 8, ROOT).text(), WITNESS, 5)
        note = parse_note(raw + sig.line())
        assert [s.name for s in note.signatures] == [LOG.name, WITNESS.name]
