"""The transparency ledger: an RFC 9162 Merkle log of consent events, data accesses,
provisions, erasures and organizations' public statements.

- ``merkle``  — pure RFC 9162 §2.1 hashing, proofs and their verification
- ``entry``   — what an entry holds and its RFC 8785 canonical bytes; persons only as
  keyed pseudonyms, bulk operations as a commitment to a set of pseudonyms
- ``note``    — C2SP signed notes, checkpoints, verifier keys and witness cosignatures
- ``service`` — append (in the caller's transaction), proofs in O(log n) reads,
  checkpoints, witnesses, alarms
- ``verify``  — full re-verification of the stored log (names the first bad index)
- ``auditor`` — verification of a running log through its HTTP API alone; with ``merkle``
  and ``note`` it needs only the standard library and ``cryptography`` (for third parties)
- ``witness`` — a witness's decisions (cosign, or refuse a fork) and its small state file
- ``cli``     — ``tsunagu ledger …`` and ``tsunagu witness …``

Invariants: ``ledger_entries`` is append-only (no code path updates or deletes a row and
database triggers refuse it); no personal payload, name, e-mail or person id enters an
entry; the ledger imports only ``core`` (it sits below identity, DESIGN.md §4).
"""
