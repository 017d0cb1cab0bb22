"""ledger subject sets: one value per bulk entry, integer keys to find a person's entries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:20:00

``ledger_subjects`` held one row (entry, base64 pseudonym) per member of a bulk entry — a
million rows and two text B-trees for a decision over a million persons.  It becomes
``ledger_subject_sets`` (the sorted 32-byte pseudonyms of an entry, concatenated, one row
per entry) and ``ledger_subject_keys`` (8-byte key of each pseudonym → entry).  Existing
rows are carried over; both new tables are append-only like the rest of the ledger.
"""

from __future__ import annotations

import base64
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_TABLES = ("ledger_subject_sets", "ledger_subject_keys")


def upgrade() -> None:
    op.create_table(
        "ledger_subject_sets",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"],
            ["ledger_entries.seq"],
            name=op.f("fk_ledger_subject_sets_seq_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_subject_sets")),
    )
    op.create_table(
        "ledger_subject_keys",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("key", "seq", name=op.f("pk_ledger_subject_keys")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    members: dict[int, list[bytes]] = defaultdict(list)
    for seq, pseudonym in bind.execute(sa.text("SELECT seq, pseudonym FROM ledger_subjects")):
        members[int(seq)].append(base64.b64decode(pseudonym))
    sets = [{"seq": seq, "members": b"".join(sorted(set(items)))} for seq, items in members.items()]
    keys = sorted(
        {
            (int.from_bytes(m[:8], "big", signed=True), seq)
            for seq, items in members.items()
            for m in items
        }
    )
    if sets:
        op.bulk_insert(
            sa.table("ledger_subject_sets", sa.column("seq"), sa.column("members")), sets
        )
    if keys:
        op.bulk_insert(
            sa.table("ledger_subject_keys", sa.column("key"), sa.column("seq")),
            [{"key": k, "seq": s} for k, s in keys],
        )
    _drop_old_table(bind.dialect.name)
    _append_only(bind.dialect.name, NEW_TABLES)


def _drop_old_table(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_subjects_append_only ON ledger_subjects")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS ledger_subjects_no_{action}")
    with op.batch_alter_table("ledger_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_subjects_pseudonym"))
    op.drop_table("ledger_subjects")


def _append_only(dialect: str, tables: tuple[str, ...]) -> None:
    """The database refuses to update or delete these rows (the function is from 0002)."""
    for table in tables:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "ledger_subjects",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pseudonym", sa.String(length=44), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["ledger_entries.seq"], name=op.f("fk_ledger_subjects_seq_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("seq", "pseudonym", name=op.f("pk_ledger_subjects")),
    )
    with op.batch_alter_table("ledger_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_subjects_pseudonym"), ["pseudonym"], unique=False
        )
    rows: list[dict[str, object]] = []
    for seq, blob in op.get_bind().execute(sa.text("SELECT seq, members FROM ledger_subject_sets")):
        data = bytes(blob)
        rows.extend(
            {"seq": int(seq), "pseudonym": base64.b64encode(data[i : i + 32]).decode()}
            for i in range(0, len(data), 32)
        )
    if rows:
        op.bulk_insert(sa.table("ledger_subjects", sa.column("seq"), sa.column("pseudonym")), rows)
    for table in NEW_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        op.drop_table(table)
    _append_only(dialect, ("ledger_subjects",))
