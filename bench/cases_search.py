"""Case lists and Japanese keyword search at 1,000,000 cases, on SQLite and PostgreSQL.

Target (issue 8): p95 ≤ 100 ms for every view below, through ``service.list_cases`` (the
code path of the pages and the API), at 1,000,000 cases.

- **data** — ``cases`` cases over ``projects`` projects of one organization (one project
  holds 40 %, the rest share the remainder), summaries and descriptions generated from word
  lists of a city office's and an IT help desk's work (``住民票の再発行``, ``VPN接続でエラー
  が発生`` …; 60–200 characters), with a few rare words (``自動車保管場所証明書`` in 0.1 % of
  cases, ``鬱`` and ``鑑札`` rarer); statuses open 25 % / in progress 15 % / resolved 10 % /
  closed 50 %; 30 assignees (a tenth unassigned); due dates on 60 %, around today.  Cases
  and their search documents are written in bulk (``executemany`` on SQLite, ``COPY`` on
  PostgreSQL, the GIN index built after the load; FTS5 ``optimize`` after it) by
  ``cases.search.bulk_index`` — the same n-grams ``index_case`` writes.  Comments are not
  generated (they only make the documents longer).
- **views** (``repeats`` timed calls each after 3 warm-ups; median and p95 in ms):
  ``project_list`` (the largest project, first page by updated), ``my_cases`` (one
  assignee, not closed, by due date), ``overdue`` (every project, not closed, due before
  today), ``board_counts`` (cases per status of the largest project, by ``case_filter``),
  and ``keyword`` searches over every project for 1-, 2- and 4-character words, common and
  rare (first page by updated and the total count, like the list page).
- PostgreSQL runs in a throwaway cluster (``tests/support/postgres.py``) with its default
  settings (fsync off).

Run: ``python -m bench cases_search`` or ``python -m bench.cases_search --cases 100000
--backends sqlite``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from tsunagu.cases import search, service
from tsunagu.cases.models import Case
from tsunagu.core.database import make_engine, make_session_factory, migrate
from tsunagu.core.ids import new_ids
from tsunagu.identity import service as identity
from tsunagu.identity.service import Actor

TARGET_MS = 100.0
#: the count a list would stop at in the capped-count experiment ("10,000+")
COUNT_CAP = 10_000
SUBJECTS = [
    "住民票",
    "印鑑登録証明書",
    "戸籍謄本",
    "マイナンバーカード",
    "転入届",
    "転出届",
    "国民健康保険",
    "介護保険",
    "児童手当",
    "固定資産税",
    "軽自動車税",
    "ごみ収集",
    "粗大ごみ",
    "道路補修",
    "街路灯",
    "公園遊具",
    "上下水道",
    "保育園入園",
    "学童保育",
    "ふるさと納税",
    "会議室予約",
    "職員ポータル",
    "ネットワーク",
    "プリンター",
    "メールサーバー",
    "勤怠システム",
    "財務会計システム",
    "ホームページ",
    "電子申請システム",
    "VPN接続",
    "パスワード",
    "アカウント",
    "請求書",
    "見積書",
    "契約書",
    "納品書",
]
ISSUES = [
    "の申請方法",
    "の発行手続き",
    "の再発行",
    "の記載誤り",
    "についての問い合わせ",
    "が表示されない",
    "でエラーが発生",
    "の不具合",
    "の変更依頼",
    "の締め切り確認",
    "の手数料",
    "の郵送請求",
    "の窓口予約",
    "の承認遅延",
    "の操作方法",
    "にログインできない",
    "の更新作業",
    "の設定変更",
]
WHO = ["市民の方", "事業者", "窓口担当", "総務課", "税務課", "福祉課", "情報政策課", "委託業者"]
PLACES = ["本庁舎", "北支所", "南出張所", "市民センター", "図書館", "体育館", "保健センター"]
SYMPTOMS = [
    "画面が真っ白になる",
    "印刷がかすれる",
    "処理に時間がかかる",
    "文字化けが起きる",
    "金額が合わない",
    "通知が届かない",
    "同じ内容が二重に登録された",
]
ACTIONS = ["回答", "修正", "再送", "調査", "設定を見直し", "マニュアルを更新", "業者に連絡"]
SENTENCES = [
    "{who}から{subject}について問い合わせがありました。",
    "{place}で{symptom}とのことです。",
    "{month}月{day}日までに{action}してください。",
    "担当課に確認のうえ、{action}する予定です。",
    "添付の資料を参照してください。",
    "前回の対応記録では{symptom}と報告されています。",
    "{subject}の手続きは窓口とオンラインの両方で受け付けています。",
    "急ぎの案件のため、優先度を上げて{action}します。",
]
#: (word, share of cases): the rare words of the keyword searches
RARE = [("自動車保管場所証明書の申請", 0.001), ("犬の鑑札の再交付", 0.0003), ("鬱", 0.0001)]
KEYWORDS = {
    "kw1_common": "税",
    "kw1_rare": "鬱",
    "kw2_common": "申請",
    "kw2_rare": "鑑札",
    "kw4_common": "システム",
    "kw4_rare": "保管場所",
}
STATUS_WEIGHTS = (25, 15, 10, 50)  # open, in progress, resolved, closed
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)


def texts(rng: random.Random) -> tuple[str, str]:
    """A summary and a description."""
    subject = rng.choice(SUBJECTS)
    summary = subject + rng.choice(ISSUES)
    parts = []
    for _ in range(rng.randint(2, 5)):
        parts.append(
            rng.choice(SENTENCES).format(
                who=rng.choice(WHO),
                subject=rng.choice((subject, rng.choice(SUBJECTS))),
                place=rng.choice(PLACES),
                symptom=rng.choice(SYMPTOMS),
                action=rng.choice(ACTIONS),
                month=rng.randint(1, 12),
                day=rng.randint(1, 28),
            )
        )
    for word, share in RARE:
        if rng.random() < share:
            parts.insert(rng.randint(0, len(parts)), f"{word}について。")
    return summary, "".join(parts)


class World:
    """The organization, its projects, statuses and staff in one database."""

    def __init__(self, session: Session, projects: int, staff: int) -> None:
        org = identity.create_organization(session, slug="bench", name="ベンチ市")
        users = [
            identity.create_staff_user(
                session,
                organization=org,
                email=f"staff{i}@example.com",
                password="correct horse battery staple",  # noqa: S106 (bench staff)
                role="owner" if i == 0 else "member",
                display_name=f"職員 {i}",
            )[0]
            for i in range(staff)
        ]
        self.org_id = org.id
        self.users = [u.id for u in users]
        self.owner = Actor(kind="staff", organization_id=org.id, role="owner", user_id=users[0].id)
        self.projects = [
            service.create_project(
                session,
                self.owner,
                key=f"P{i:02d}",
                name=f"プロジェクト{i}",
                visibility="cross_department",
            )
            for i in range(projects)
        ]
        self.statuses = {p.id: service.statuses(session, p.id) for p in self.projects}
        self.types = {p.id: service.issue_types(session, p.id) for p in self.projects}
        session.flush()


def case_rows(world: World, count: int, seed: int = 8) -> Iterator[dict[str, Any]]:
    """``count`` cases as column values (one project holds 40 %)."""
    rng = random.Random(seed)
    weights = [40.0] + [60.0 / (len(world.projects) - 1)] * (len(world.projects) - 1)
    numbers = dict.fromkeys((p.id for p in world.projects), 0)
    ids: list[uuid.UUID] = []
    span = 2 * 365 * 86_400
    for _ in range(count):
        if not ids:
            ids = new_ids(10_000)
        project = rng.choices(world.projects, weights)[0]
        numbers[project.id] += 1
        number = numbers[project.id]
        status_index = rng.choices(range(4), STATUS_WEIGHTS)[0]
        status = world.statuses[project.id][status_index]
        created = NOW - timedelta(seconds=rng.randrange(span))
        updated = min(NOW, created + timedelta(seconds=rng.randrange(60 * 86_400)))
        due = TODAY + timedelta(days=rng.randint(-120, 120)) if rng.random() < 0.6 else None
        summary, description = texts(rng)
        yield {
            "id": ids.pop(),
            "organization_id": world.org_id,
            "project_id": project.id,
            "number": number,
            "key": f"{project.key}-{number}",
            "summary": summary,
            "description": description,
            "issue_type_id": rng.choice(world.types[project.id]).id,
            "priority": rng.choices(("high", "normal", "low"), (1, 6, 2))[0],
            "status_id": status.id,
            "closed": status.builtin == "closed",
            "assignee_id": None if rng.random() < 0.1 else rng.choice(world.users),
            "created_by_id": world.users[0],
            "created_by_label": "職員 0",
            "start_date": None,
            "due_date": due,
            "estimated_hours": None,
            "actual_hours": None,
            "category_id": None,
            "milestone_id": None,
            "parent_id": None,
            "source": "demo",
            "created_at": created,
            "updated_at": updated,
            "last_event": 1,
        }


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(session: Session, world: World, count: int) -> dict[str, float]:
    """Write the cases and their search documents in bulk; seconds of each part."""
    postgres = session.get_bind().dialect.name == "postgresql"
    columns = [c.name for c in Case.__table__.columns]
    cases_s = index_s = 0.0
    doc_id = 0
    if postgres:
        session.execute(text("DROP INDEX ix_cases_search_docs_grams"))
    for chunk in _chunks(case_rows(world, count), 10_000):
        t = time.perf_counter()
        if postgres:
            raw = session.connection().connection.driver_connection
            with (
                raw.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f"COPY cases_cases ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in chunk:
                    copy.write_row([row[c] for c in columns])
        else:
            session.execute(insert(Case), chunk)
        t2 = time.perf_counter()
        docs = []
        for row in chunk:
            doc_id += 1
            docs.append(
                search.Document(
                    doc_id,
                    row["id"],
                    row["project_id"],
                    search.document_text(row["summary"], row["description"], ()),
                )
            )
        search.bulk_index(session, docs)
        cases_s += t2 - t
        index_s += time.perf_counter() - t2
    t = time.perf_counter()
    if postgres:
        session.execute(text("SET maintenance_work_mem = '1GB'"))
        session.execute(
            text("CREATE INDEX ix_cases_search_docs_grams ON cases_search_docs USING gin (grams)")
        )
    else:
        session.execute(text("INSERT INTO cases_fts(cases_fts) VALUES ('optimize')"))
    finish_s = time.perf_counter() - t
    return {"cases_s": cases_s, "index_s": index_s, "index_finish_s": finish_s}


def _percentiles(times: Sequence[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, round(0.95 * len(ms)) - 1)], 2),
        "max_ms": round(ms[-1], 2),
    }


def list_queries(world: World) -> dict[str, service.CaseQuery]:
    """The list views' queries."""
    big = world.projects[0].id
    me = world.users[1]
    found = {
        "project_list": service.CaseQuery(project_ids=(big,)),
        "my_cases": service.CaseQuery(
            assignee_ids=(me,), not_closed=True, sort="due_date", order="asc"
        ),
        "overdue": service.CaseQuery(overdue_on=TODAY, sort="due_date", order="asc"),
    }
    for name, word in KEYWORDS.items():
        found[name] = service.CaseQuery(keyword=word)
    return found


def views(world: World) -> dict[str, Callable[[Session], int]]:
    """What each measured view does; each returns how many cases match."""
    big = world.projects[0].id
    owner = world.owner

    def page(query: service.CaseQuery) -> Callable[[Session], int]:
        def call(session: Session) -> int:
            return service.list_cases(session, owner, query).total

        return call

    def board(session: Session) -> int:
        where = service.case_filter(session, owner, service.CaseQuery(project_ids=(big,)))
        rows = session.execute(
            select(Case.status_id, func.count()).where(*where).group_by(Case.status_id)
        ).all()
        return sum(n for _, n in rows)

    found = {name: page(query) for name, query in list_queries(world).items()}
    found["board_counts"] = board
    return found


def parts(world: World) -> dict[str, Callable[[Session], int]]:
    """The list views split in two: the page alone, the exact count alone, and a count
    capped at ``COUNT_CAP`` (what a capped count in ``list_cases`` would cost)."""
    owner = world.owner
    found: dict[str, Callable[[Session], int]] = {}
    for name, query in list_queries(world).items():

        def items(session: Session, query: service.CaseQuery = query) -> int:
            where = service.case_filter(session, owner, query)
            order = service._order(query)
            return len(session.scalars(select(Case).where(*where).order_by(*order).limit(20)).all())

        def count(session: Session, query: service.CaseQuery = query) -> int:
            where = service.case_filter(session, owner, query)
            return session.scalar(select(func.count()).select_from(Case).where(*where)) or 0

        def capped(session: Session, query: service.CaseQuery = query) -> int:
            where = service.case_filter(session, owner, query)
            inner = select(Case.id).where(*where).limit(COUNT_CAP + 1).subquery()
            return session.scalar(select(func.count()).select_from(inner)) or 0

        found[f"{name}.items"] = items
        found[f"{name}.count"] = count
        found[f"{name}.count_capped"] = capped
    return found


def measure(
    factory: Callable[[], Session], calls: dict[str, Callable[[Session], int]], repeats: int
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, call in calls.items():
        session = factory()
        try:
            matches = 0
            for _ in range(3):
                matches = call(session)
                session.rollback()
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                call(session)
                times.append(time.perf_counter() - t)
                session.rollback()
        finally:
            session.close()
        results[name] = {"matches": matches, **_percentiles(times)}
        results[name]["meets_target"] = results[name]["p95_ms"] <= TARGET_MS
    return results


def run_backend(backend: str, cases: int, projects: int, repeats: int) -> dict[str, Any]:
    cluster: Any = None
    folder = Path(tempfile.mkdtemp(prefix="tsunagu-bench-"))
    if backend == "postgresql":
        from tests.support.postgres import start_cluster

        cluster = start_cluster()
        if isinstance(cluster, str):
            return {"skipped": cluster}
        url = cluster.url
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    try:
        engine = make_engine(url)
        migrate(engine)
        factory = make_session_factory(engine)
        t0 = time.perf_counter()
        with factory() as session:
            world = World(session, projects, staff=30)
            load_parts = load(session, world, cases)
            session.commit()
        with engine.connect() as conn:
            if backend == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            else:
                conn.execute(text("ANALYZE"))
                conn.commit()
        load_s = time.perf_counter() - t0
        size = _size(engine, backend, folder)
        measured = measure(factory, views(world), repeats)
        split = measure(factory, parts(world), repeats)
        engine.dispose()
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "load_s": round(load_s, 1),
        "load_parts_s": {k: round(v, 1) for k, v in load_parts.items()},
        "database_mb": size,
        "views": measured,
        "all_meet_target": all(v["meets_target"] for v in measured.values()),
        "parts": split,
    }


def _size(engine: Any, backend: str, folder: Path) -> float:
    if backend == "postgresql":
        with engine.connect() as conn:
            size = conn.scalar(text("SELECT pg_database_size(current_database())"))
        return round(int(size) / 1e6, 1)
    return round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6, 1)


def run(
    cases: int = 1_000_000,
    projects: int = 8,
    repeats: int = 30,
    backends: Sequence[str] = ("sqlite", "postgresql"),
) -> dict[str, Any]:
    return {
        "target_p95_ms": TARGET_MS,
        "cases": cases,
        "projects": projects,
        "repeats": repeats,
        "keywords": KEYWORDS,
        "backends": {b: run_backend(b, cases, projects, repeats) for b in backends},
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"cases_search: {result['cases']:,} cases, p95 target ≤ {TARGET_MS:.0f} ms"]
    for backend, res in result["backends"].items():
        if "skipped" in res:
            lines.append(f"  {backend}: skipped ({res['skipped']})")
            continue
        lines.append(f"  {backend}: loaded in {res['load_s']} s, {res['database_mb']} MB")
        for name, v in res["views"].items():
            mark = "ok" if v["meets_target"] else "OVER"
            lines.append(
                f"    {name:13} p50 {v['p50_ms']:8.1f} ms  p95 {v['p95_ms']:8.1f} ms  "
                f"({v['matches']:,} match) {mark}"
            )
        for name, v in res["parts"].items():
            lines.append(f"    {name:26} p50 {v['p50_ms']:8.1f} ms  p95 {v['p95_ms']:8.1f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cases_search", description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--name", default="cases_search", help="result file name")
    args = parser.parse_args()
    from bench.machine import write_result

    res = run(cases=args.cases, repeats=args.repeats, backends=args.backends)
    print(report(res))
    print(f"  → {write_result(args.name, res)}")


if __name__ == "__main__":
    main()
