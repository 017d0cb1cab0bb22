"""linkage: a match run's method (keyed pseudonyms or probabilistic) and its quality report

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 23:25:00.000000

Runs before this revision were all keyed-pseudonym runs: ``method`` defaults to
``pseudonym`` for them, and their ``quality`` stays null (a deterministic join has no
estimated precision or recall).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("linkage_match_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("method", sa.String(length=16), nullable=False, server_default="pseudonym")
        )
        batch_op.add_column(sa.Column("quality", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("linkage_match_runs", schema=None) as batch_op:
        batch_op.drop_column("quality")
        batch_op.drop_column("method")
