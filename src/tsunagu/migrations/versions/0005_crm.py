"""crm: THE MODEL pipeline — stage models, entities, transitions, activities, campaigns,
handoff ratings and conversion targets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 16:05:34.617169

An organization without ``crm_stages`` rows uses the default model of ``tsunagu.crm.stages``;
nothing is seeded.  Transitions are events: the current stage of an entity is its last
transition's ``to_stage``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tsunagu.core.clock

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=63), nullable=False),
        sa.Column("created_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('seminar', 'webinar', 'mail', 'exhibition', 'ads', 'web_content')",
            name=op.f("ck_crm_campaigns_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_campaigns_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_campaigns")),
    )
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_campaigns_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "crm_entities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("industry", sa.String(length=60), nullable=True),
        sa.Column("size", sa.String(length=30), nullable=True),
        sa.Column("channel", sa.String(length=30), nullable=True),
        sa.Column("region", sa.String(length=30), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("created_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_entities_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["staff_users.id"],
            name=op.f("fk_crm_entities_owner_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_crm_entities_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_entities")),
        sa.UniqueConstraint(
            "organization_id", "ref", name=op.f("uq_crm_entities_organization_id_ref")
        ),
    )
    with op.batch_alter_table("crm_entities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_entities_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_crm_entities_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "ix_crm_entities_org_updated", ["organization_id", "updated_at"], unique=False
        )

    op.create_table(
        "crm_moves",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=False),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_moves_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "from_stage", "to_stage", name=op.f("pk_crm_moves")
        ),
    )
    op.create_table(
        "crm_stages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("label_ja", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("terminal", sa.Boolean(), nullable=False),
        sa.Column("criterion_ja", sa.Text(), nullable=False),
        sa.Column("criterion_en", sa.Text(), nullable=False),
        sa.Column("auto_on", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_stages_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_stages")),
        sa.UniqueConstraint(
            "organization_id", "key", name=op.f("uq_crm_stages_organization_id_key")
        ),
    )
    with op.batch_alter_table("crm_stages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_stages_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "crm_targets",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=False),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.Column("rate", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_targets_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "from_stage", "to_stage", name=op.f("pk_crm_targets")
        ),
    )
    op.create_table(
        "crm_campaign_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("touched_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('invited', 'registered', 'attended', 'no_show', 'followed_up')",
            name=op.f("ck_crm_campaign_members_status"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["crm_campaigns.id"],
            name=op.f("fk_crm_campaign_members_campaign_id_crm_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["crm_entities.id"],
            name=op.f("fk_crm_campaign_members_entity_id_crm_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_campaign_members")),
        sa.UniqueConstraint(
            "campaign_id", "entity_id", name=op.f("uq_crm_campaign_members_campaign_id_entity_id")
        ),
    )
    with op.batch_alter_table("crm_campaign_members", schema=None) as batch_op:
        batch_op.create_index("ix_crm_campaign_members_entity", ["entity_id"], unique=False)

    op.create_table(
        "crm_transitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=True),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.Column("at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('ui', 'api', 'import', 'rule', 'demo')",
            name=op.f("ck_crm_transitions_source"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["crm_campaigns.id"],
            name=op.f("fk_crm_transitions_campaign_id_crm_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["crm_entities.id"],
            name=op.f("fk_crm_transitions_entity_id_crm_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_transitions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_transitions")),
        sa.UniqueConstraint("entity_id", "seq", name=op.f("uq_crm_transitions_entity_id_seq")),
    )
    with op.batch_alter_table("crm_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_crm_transitions_org_at", ["organization_id", "at"], unique=False)
        batch_op.create_index(
            "ix_crm_transitions_org_entity",
            ["organization_id", "entity_id", "seq", "to_stage", "at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_crm_transitions_org_move",
            ["organization_id", "from_stage", "to_stage", "at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_crm_transitions_org_recorded", ["organization_id", "recorded_at"], unique=False
        )

    op.create_table(
        "crm_activities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("transition_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["crm_campaigns.id"],
            name=op.f("fk_crm_activities_campaign_id_crm_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["crm_entities.id"],
            name=op.f("fk_crm_activities_entity_id_crm_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_activities_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transition_id"],
            ["crm_transitions.id"],
            name=op.f("fk_crm_activities_transition_id_crm_transitions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_activities")),
    )
    with op.batch_alter_table("crm_activities", schema=None) as batch_op:
        batch_op.create_index("ix_crm_activities_entity", ["entity_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_crm_activities_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "crm_handoff_ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("transition_id", sa.Uuid(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_by", sa.String(length=100), nullable=False),
        sa.Column("rated_at", tsunagu.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_crm_handoff_ratings_rating")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_crm_handoff_ratings_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transition_id"],
            ["crm_transitions.id"],
            name=op.f("fk_crm_handoff_ratings_transition_id_crm_transitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_handoff_ratings")),
        sa.UniqueConstraint("transition_id", name=op.f("uq_crm_handoff_ratings_transition_id")),
    )
    with op.batch_alter_table("crm_handoff_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_handoff_ratings_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_handoff_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_handoff_ratings_organization_id"))

    op.drop_table("crm_handoff_ratings")
    with op.batch_alter_table("crm_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_activities_organization_id"))
        batch_op.drop_index("ix_crm_activities_entity")

    op.drop_table("crm_activities")
    with op.batch_alter_table("crm_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_transitions_org_recorded")
        batch_op.drop_index("ix_crm_transitions_org_move")
        batch_op.drop_index("ix_crm_transitions_org_entity")
        batch_op.drop_index("ix_crm_transitions_org_at")

    op.drop_table("crm_transitions")
    with op.batch_alter_table("crm_campaign_members", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_campaign_members_entity")

    op.drop_table("crm_campaign_members")
    op.drop_table("crm_targets")
    with op.batch_alter_table("crm_stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_stages_organization_id"))

    op.drop_table("crm_stages")
    op.drop_table("crm_moves")
    with op.batch_alter_table("crm_entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_entities_person_id"))
        batch_op.drop_index("ix_crm_entities_org_updated")
        batch_op.drop_index(batch_op.f("ix_crm_entities_organization_id"))

    op.drop_table("crm_entities")
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_campaigns_organization_id"))

    op.drop_table("crm_campaigns")
