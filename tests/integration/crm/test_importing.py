"""Importing transition history from CSV (SQLite and PostgreSQL): the chain of each entity
must connect to where it is now, the model must allow every move, all rows or none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import create_org
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import manage, service
from tsunagu.crm.errors import StaleStage
from tsunagu.crm.importing import import_transitions
from tsunagu.crm.models import CrmEntity, CrmTransition
from tsunagu.identity.models import Organization

HEADER = "entity_id,from_stage,to_stage,at,amount\n"


def csv(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def transitions(db: Session, org: Organization) -> list[tuple[str, int, str | None, str]]:
    rows = db.execute(
        select(CrmEntity.ref, CrmTransition.seq, CrmTransition.from_stage, CrmTransition.to_stage)
        .join(CrmEntity, CrmEntity.id == CrmTransition.entity_id)
        .where(CrmTransition.organization_id == org.id)
        .order_by(CrmEntity.ref, CrmTransition.seq)
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def history_of(db: Session, org: Organization, ref: str) -> list[CrmTransition]:
    return list(service.history(db, org.id, service.entity_by_ref(db, org.id, ref).id))


def count(db: Session, org: Organization) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(CrmTransition)
            .where(CrmTransition.organization_id == org.id)
        )
        or 0
    )


def errors_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[int, str]]:
    return [(e["row"], e["column"]) for e in exc.value.errors]


class TestImportTransitions:
    def test_new_refs_become_entities_with_their_history(self, db: Session) -> None:
        org = create_org(db)
        data = csv(
            "A-1,,lead,2026-01-05T09:00:00+09:00,",
            "A-1,lead,promising,2026-01-10T09:00:00+09:00,",
            "B-2,,qualified,2026-01-06T00:00:00Z,5000000",
        )

        result = import_transitions(db, org.id, data)

        assert (result.imported, result.created_entities) == (3, 2)
        assert transitions(db, org) == [
            ("A-1", 1, None, "lead"),
            ("A-1", 2, "lead", "promising"),
            ("B-2", 1, None, "qualified"),
        ]
        entity = service.entity_by_ref(db, org.id, "B-2")
        assert entity.name == "B-2"
        history = service.history(db, org.id, entity.id)
        assert history[0].amount == 5_000_000
        assert history[0].source == "import"
        assert history[0].at == datetime(2026, 1, 6, tzinfo=UTC)

    def test_rows_are_chained_in_time_order_not_file_order(self, db: Session) -> None:
        org = create_org(db)
        data = csv(
            "A-1,lead,nurturing,2026-01-10T09:00:00+09:00,",
            "A-1,,lead,2026-01-05T09:00:00+09:00,",
        )

        import_transitions(db, org.id, data)

        assert transitions(db, org) == [("A-1", 1, None, "lead"), ("A-1", 2, "lead", "nurturing")]

    def test_history_continues_from_the_entitys_current_stage(self, db: Session) -> None:
        org = create_org(db)
        entity = service.create_entity(db, org.id, ref="A-1", name="株式会社あさひ")
        service.move(
            db, org.id, entity.id, "lead", actor="test", at=datetime(2026, 1, 1, tzinfo=UTC)
        )

        import_transitions(db, org.id, csv("A-1,lead,nurturing,2026-01-02T00:00:00Z,"))

        assert service.current(db, entity.id) is not None
        assert service.current(db, entity.id).stage == "nurturing"  # type: ignore[union-attr]
        assert transitions(db, org)[-1] == ("A-1", 2, "lead", "nurturing")

    def test_lost_needs_no_reason_in_an_import(self, db: Session) -> None:
        org = create_org(db)

        result = import_transitions(
            db,
            org.id,
            csv(
                "A-1,,opportunity,2026-01-01T00:00:00Z,",
                "A-1,opportunity,lost,2026-01-02T00:00:00Z,",
            ),
        )

        assert result.imported == 2

    def test_a_file_without_the_amount_column_is_accepted(self, db: Session) -> None:
        org = create_org(db)

        result = import_transitions(
            db, org.id, b"entity_id,from_stage,to_stage,at\nA-1,,lead,2026-01-01T00:00:00Z\n"
        )

        assert result.imported == 1

    def test_cp932_file_is_read(self, db: Session) -> None:
        org = create_org(db)

        result = import_transitions(
            db, org.id, csv("株式会社①,,lead,2026-01-01T00:00:00Z,").decode().encode("cp932")
        )

        assert result.encoding == "cp932"
        assert service.entity_by_ref(db, org.id, "株式会社①").name == "株式会社①"

    def test_another_tenants_ref_is_a_new_entity_here(self, db: Session) -> None:
        other = create_org(db)
        theirs = service.create_entity(db, other.id, ref="A-1", name="他社")
        service.move(
            db, other.id, theirs.id, "lead", actor="t", at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        org = create_org(db)

        result = import_transitions(db, org.id, csv("A-1,,qualified,2026-01-02T00:00:00Z,"))

        assert result.created_entities == 1
        assert service.current(db, theirs.id).stage == "lead"  # type: ignore[union-attr]


class TestExportRoundTrip:
    def test_an_export_imports_into_another_organization_as_the_same_history(
        self, db: Session
    ) -> None:
        source = create_org(db)
        import_transitions(
            db,
            source.id,
            csv(
                "株式会社ひかり,,qualified,2026-01-06T00:00:00Z,",
                "株式会社ひかり,qualified,opportunity,2026-01-07T00:00:00Z,3000000",
                "株式会社ひかり,opportunity,lost,2026-01-08T00:00:00Z,",
                "A-1,,lead,2026-01-05T09:00:00+09:00,",
            ),
        )
        text, count = manage.transitions_csv(db, source.id)
        target = create_org(db)

        result = import_transitions(db, target.id, text.encode("utf-8"))

        assert (count, result.imported, result.encoding) == (4, 4, "utf-8-sig")
        assert transitions(db, target) == transitions(db, source)
        assert [(t.at, t.amount) for t in history_of(db, target, "株式会社ひかり")] == [
            (t.at, t.amount) for t in history_of(db, source, "株式会社ひかり")
        ]

    def test_times_are_written_with_the_organizations_offset(self, db: Session) -> None:
        org = create_org(db)
        import_transitions(db, org.id, csv("A-1,,lead,2026-01-05T00:00:00Z,"))

        text, _ = manage.transitions_csv(db, org.id)

        assert text.splitlines()[1] == "A-1,,lead,2026-01-05T09:00:00+09:00,"


class TestImportTransitionsRefuses:
    def test_naive_time_is_a_row_error(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, csv("A-1,,lead,2026-01-01T09:00:00,"))

        assert errors_of(exc) == [(2, "at")]
        assert "offset" in exc.value.errors[0]["reason"]
        assert count(db, org) == 0

    def test_unknown_stage_is_a_row_error(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, csv("A-1,,prospect,2026-01-01T00:00:00Z,"))

        assert errors_of(exc) == [(2, "to_stage")]

    def test_move_the_model_forbids_is_a_row_error(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(
                db,
                org.id,
                csv("A-1,,lead,2026-01-01T00:00:00Z,", "A-1,lead,lost,2026-01-02T00:00:00Z,"),
            )

        assert errors_of(exc) == [(3, "to_stage")]

    def test_move_from_a_stage_the_entity_is_not_in_is_a_row_error(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(
                db,
                org.id,
                csv(
                    "A-1,,lead,2026-01-01T00:00:00Z,",
                    "A-1,nurturing,promising,2026-01-02T00:00:00Z,",
                ),
            )

        assert errors_of(exc) == [(3, "from_stage")]

    def test_first_row_of_a_known_entity_must_start_from_its_stage(self, db: Session) -> None:
        org = create_org(db)
        entity = service.create_entity(db, org.id, ref="A-1", name="あさひ")
        service.move(db, org.id, entity.id, "lead", actor="t", at=datetime(2026, 1, 1, tzinfo=UTC))

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, csv("A-1,,nurturing,2026-01-02T00:00:00Z,"))

        assert errors_of(exc) == [(2, "from_stage")]

    def test_row_dated_before_the_last_existing_transition_is_refused(self, db: Session) -> None:
        org = create_org(db)
        entity = service.create_entity(db, org.id, ref="A-1", name="あさひ")
        service.move(db, org.id, entity.id, "lead", actor="t", at=datetime(2026, 2, 1, tzinfo=UTC))

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, csv("A-1,lead,nurturing,2026-01-02T00:00:00Z,"))

        assert errors_of(exc) == [(2, "at")]
        assert count(db, org) == 1

    def test_future_row_is_refused(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, csv("A-1,,lead,2999-01-01T00:00:00Z,"))

        assert errors_of(exc) == [(2, "at")]

    @pytest.mark.parametrize("amount", ["-5", "abc"])
    def test_bad_amount_is_a_row_error(self, db: Session, amount: str) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, csv(f"A-1,,lead,2026-01-01T00:00:00Z,{amount}"))

        assert errors_of(exc) == [(2, "amount")]

    def test_one_bad_row_writes_nothing_and_creates_no_entity(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput):
            import_transitions(
                db,
                org.id,
                csv("A-1,,lead,2026-01-01T00:00:00Z,", "B-1,,dead_end,2026-01-01T00:00:00Z,"),
            )

        assert count(db, org) == 0
        assert (
            db.scalar(
                select(func.count())
                .select_from(CrmEntity)
                .where(CrmEntity.organization_id == org.id)
            )
            == 0
        )

    def test_every_entitys_errors_are_reported_together(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(
                db,
                org.id,
                csv(
                    "A-1,,nowhere,2026-01-01T00:00:00Z,",
                    "B-1,lead,nurturing,2026-01-01T00:00:00Z,",
                    "C-1,,lead,yesterday,",
                ),
            )

        assert errors_of(exc) == [(2, "to_stage"), (3, "from_stage"), (4, "at")]

    def test_missing_required_column_is_refused(self, db: Session) -> None:
        org = create_org(db)

        with pytest.raises(InvalidInput) as exc:
            import_transitions(db, org.id, b"entity_id,from_stage,at\nA-1,,2026-01-01T00:00:00Z\n")

        assert exc.value.errors[0]["column"] == "to_stage"


class TestConcurrentMove:
    def test_a_move_landing_while_the_file_is_written_is_a_conflict(self, db: Session) -> None:
        org = create_org(db)
        entity = service.create_entity(db, org.id, ref="A-1", name="株式会社A")
        service.move(db, org.id, entity.id, "lead", actor="t", at=datetime(2026, 1, 5, tzinfo=UTC))

        def someone_moves_it(stage: str, done: int, _total: int) -> None:
            if stage == "writing" and done == 0:
                service.move(
                    db, org.id, entity.id, "nurturing", actor="t",
                    at=datetime(2026, 1, 6, tzinfo=UTC),
                )  # fmt: skip

        with pytest.raises(StaleStage):
            import_transitions(
                db,
                org.id,
                csv("A-1,lead,promising,2026-01-07T09:00:00+09:00,"),
                progress=someone_moves_it,
            )
