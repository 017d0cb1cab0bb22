"""The schema from Alembic and the SQLAlchemy models describe the same tables."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from tsunagu.core.database import alembic_config
from tsunagu.migrations.metadata import include_object, target_metadata


def test_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert len(script.get_heads()) == 1


def test_models_and_migrations_agree(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"include_object": include_object})
    assert compare_metadata(context, target_metadata) == []
