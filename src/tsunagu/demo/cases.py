"""The demo world's cases, at つなぎ野市 (the municipality): a citizens' support project
``SUP`` fed by its public inquiry form, the information-systems project ``ENG`` that
support escalates to, and a KPT board of the support team.

Everything goes through ``cases.service`` (keys, timelines, search documents), with
times spread over the weeks before the demo's "today" (the pipeline's anchor,
2026-11-27, Tokyo), so the lists show overdue work, the board every status and the
Gantt view bars across this month and the next.  Inquirers are invented people at
``example.jp`` addresses; nothing here is personal data of anyone.  Idempotent: a city
that has a ``SUP`` project is left as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases.models import (
    Case,
    Category,
    Inquiry,
    KptBoard,
    KptCard,
    KptVote,
    Link,
    Milestone,
    Project,
    ProjectMember,
)
from tsunagu.core.clock import TOKYO
from tsunagu.identity.models import Membership, Organization, StaffUser
from tsunagu.identity.service import Actor

if TYPE_CHECKING:
    from tsunagu.demo.world import StepReport, WorldContext

CITY: Final = "tsunagino-city"
#: the demo's "today" (as the pipeline's): 2026-11-27 in Tokyo
TODAY: Final = date(2026, 11, 27)
SUPPORT_CASES: Final = 48
ENGINEERING_CASES: Final = 18

SUPPORT_NOTICE_JA = (
    "ご入力いただいたお名前とメールアドレスは、このお問い合わせへの回答のためだけに"
    "つなぎ野市が利用します。回答の後は、法令の定める期間を過ぎたものから消去します。"
)
SUPPORT_NOTICE_EN = (
    "Tsunagino City uses the name and e-mail address you enter only to answer this "
    "inquiry. After the answer, they are erased once the period the law sets has passed."
)

#: (category, summary, message) of citizens' inquiries
INQUIRIES: Final = (
    ("車庫証明", "車庫証明の申請に必要な書類", "自動車保管場所証明書の申請には何が必要ですか。"
     "月極駐車場を借りています。"),
    ("車庫証明", "保管場所使用承諾証明書の書き方", "駐車場の持ち主に保管場所使用承諾証明書を"
     "書いてもらう必要がありますか。"),
    ("住民票", "住民票の写しをオンラインで申請したい", "マイナンバーカードで住民票の写しを"
     "申請できますか。コンビニ交付との違いも知りたいです。"),
    ("住民票", "転入届の受付時間", "土曜日に転入届を出せる窓口はありますか。"),
    ("税", "固定資産税の納付書が届かない", "今年度の固定資産税の納付書がまだ届いていません。"),
    ("税", "住民税の申告について", "年の途中で退職しました。住民税の申告は必要ですか。"),
    ("ごみ", "粗大ごみの申込み方法", "ソファを粗大ごみに出したいのですが、"
     "申込みはどこからですか。"),
    ("ごみ", "資源ごみの収集日が変わった？", "今月から資源ごみの収集日が変わったと聞きました。"),
    ("システム", "電子申請のページでエラーが出る", "電子申請で送信ボタンを押すと"
     "エラー画面になります。ブラウザは Chrome です。"),
    ("システム", "申請状況の確認ページにログインできない", "パスワードを再設定しても申請状況の"
     "確認ページにログインできません。"),
    ("子育て", "児童手当の申請期限", "出生から何日以内に児童手当の申請が必要ですか。"),
    ("子育て", "保育園の入園申込み", "来年4月の保育園入園の申込みはいつからですか。"),
)  # fmt: skip
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("陽菜", "蓮", "結衣", "大翔", "美咲", "翔太", "さくら", "健一", "真由美", "修")
ROMAN = {"佐藤": "sato", "鈴木": "suzuki", "高橋": "takahashi", "田中": "tanaka",
         "伊藤": "ito", "渡辺": "watanabe", "山本": "yamamoto", "中村": "nakamura",
         "小林": "kobayashi", "加藤": "kato"}  # fmt: skip
REPLIES: Final = (
    "お問い合わせありがとうございます。担当課に確認のうえ、改めてご連絡いたします。",
    "必要な書類は市のウェブサイトの「手続き案内」に掲載しています。ご不明な点があればお知らせください。",
    "ご不便をおかけしております。原因を調査しています。",
)
INTERNAL_NOTES: Final = (
    "窓口で同様の問い合わせが増えています。FAQ に追加しましょう。",
    "担当課（市民課）に確認中。",
    "情報システム課にエスカレーションします。",
)
ENGINEERING: Final = (
    ("電子申請フォームの送信エラー調査", "送信時に 500 エラー。ログを確認する。"),
    ("申請状況確認ページのログイン不具合", "パスワード再設定後にセッションが切れる。"),
    ("住民票コンビニ交付システムの更新", "年次更新。ベンダーと日程調整。"),
    ("粗大ごみ受付システムの項目追加", "品目に「電動自転車」を追加する。"),
    ("庁内ネットワークの機器更新", "第3庁舎のスイッチを更新する。"),
    ("ウェブサイトのアクセシビリティ点検", "JIS X 8341-3 の適合試験を実施する。"),
)
KPT_CARDS: Final = (
    ("keep", "よくある問い合わせを週次で共有できた"),
    ("keep", "回答テンプレートで返信が早くなった"),
    ("problem", "車庫証明の問い合わせが月末に集中して返信が遅れる"),
    ("problem", "電子申請のエラーの切り分けに時間がかかる"),
    ("try", "車庫証明の FAQ をウェブサイトに載せる"),
    ("try", "エラー報告のテンプレートを情報システム課と作る"),
)


@dataclass(frozen=True, slots=True)
class _People:
    owner: StaffUser
    staff: list[StaffUser]


def _people(session: Session, org: Organization) -> _People:
    rows = session.execute(
        select(StaffUser, Membership.role)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(Membership.organization_id == org.id)
        .order_by(StaffUser.email)
    ).all()
    by_role = {role: user for user, role in rows}
    staff = [by_role[r] for r in ("owner", "admin", "member") if r in by_role]
    return _People(owner=by_role.get("owner") or staff[0], staff=staff)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TOKYO)


def _author(user: StaffUser) -> service.Author:
    return service.Author(user.id, user.display_name or user.email)


def _project(
    session: Session,
    org: Organization,
    owner: StaffUser,
    key: str,
    name: str,
    visibility: str,
    department: str,
) -> Project:
    actor = Actor(kind="staff", organization_id=org.id, role="owner", user_id=owner.id)
    return service.create_project(
        session, actor, key=key, name=name, visibility=visibility, department=department
    )


def _support(
    session: Session, org: Organization, people: _People, rng: random.Random
) -> tuple[Project, int]:
    sup = _project(
        session, org, people.owner, "SUP", "市民お問い合わせ窓口", "cross_department", "市民課"
    )
    sup.description = "ウェブのお問い合わせフォームから届いた市民の問い合わせ。"
    sup.inquiry_enabled = True
    sup.inquiry_notice_ja = SUPPORT_NOTICE_JA
    sup.inquiry_notice_en = SUPPORT_NOTICE_EN
    eng = _project(
        session, org, people.owner, "ENG", "情報システム課", "internal", "情報システム課"
    )
    eng.description = "庁内システムと電子申請の開発・保守。"
    for user in people.staff:
        if user.id != people.owner.id:
            session.add(ProjectMember(project_id=eng.id, user_id=user.id, role="member"))
    names = sorted({c for c, _, _ in INQUIRIES})
    categories = {name: Category(project_id=sup.id, name=name) for name in names}
    session.add_all(categories.values())
    release = Milestone(
        project_id=eng.id,
        name="2026年12月リリース",
        start_date=TODAY - timedelta(days=20),
        release_due_date=TODAY + timedelta(days=25),
    )
    session.add(release)
    session.flush()
    states = {s.builtin: s for s in service.statuses(session, sup.id)}
    created = 0
    bug = service.issue_types(session, eng.id)[1]
    for index in range(SUPPORT_CASES):
        category, summary, message = INQUIRIES[index % len(INQUIRIES)]
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        opened = _at(TODAY - timedelta(days=rng.randint(0, 40)), rng.randint(8, 20), 5)
        label = f"{family} {given}（お問い合わせフォーム）"
        case = service.new_case(
            session,
            sup,
            service.Author(None, label),
            {
                "summary": summary,
                "description": message,
                "category": categories[category].id,
                "issue_type": service.issue_types(session, sup.id)[3].id,
            },
            source="inquiry",
            now=opened,
        )
        created += 1
        session.add(
            Inquiry(
                project_id=sup.id,
                case_id=case.id,
                reference=f"Q-DEMO{index:04d}",
                idempotency_key=f"demo-{index}",
                name=f"{family} {given}",
                email=f"{ROMAN[family]}.{index}@example.jp",
                locale="ja",
                created_at=opened,
            )
        )
        stage = rng.random()
        if stage < 0.2:
            continue  # still untouched: 未対応 without an assignee
        handler = rng.choice(people.staff)
        due = (opened + timedelta(days=rng.randint(3, 14))).date()
        service.change_case(
            session,
            case,
            _author(people.owner),
            {"assignee": handler.id, "status": states["in_progress"].id, "due_date": due},
            comment=rng.choice(INTERNAL_NOTES) if rng.random() < 0.4 else None,
            now=opened + timedelta(hours=2),
        )
        if stage < 0.55:
            continue
        service.add_comment(
            session,
            case,
            _author(handler),
            rng.choice(REPLIES),
            public=True,
            now=opened + timedelta(hours=26),
        )
        if category == "システム" and index < 24:
            copy = service.new_case(
                session,
                eng,
                _author(handler),
                {
                    "summary": f"[{case.key}] {summary}",
                    "description": message,
                    "issue_type": bug.id,
                    "priority": "high",
                    "milestone": release.id,
                    "start_date": opened.date() + timedelta(days=2),
                    "due_date": opened.date() + timedelta(days=12),
                },
                source="escalation",
                now=opened + timedelta(hours=27),
            )
            created += 1
            session.add(Link(case_id=case.id, kind="case", target_id=copy.id,
                             relation="escalated_to"))  # fmt: skip
            session.add(Link(case_id=copy.id, kind="case", target_id=case.id,
                             relation="escalated_from"))  # fmt: skip
        final = "resolved" if stage < 0.8 else "closed"
        service.change_case(
            session,
            case,
            _author(handler),
            {"status": states[final].id},
            now=opened + timedelta(days=rng.randint(2, 6)),
        )
    created += _engineering(session, eng, release, people, rng)
    created += _kpt(session, sup, people, rng)
    return sup, created


def _engineering(
    session: Session, eng: Project, release: Milestone, people: _People, rng: random.Random
) -> int:
    states = {s.builtin: s for s in service.statuses(session, eng.id)}
    task = service.issue_types(session, eng.id)[0]
    created = 0
    parents: list[Case] = []
    for index in range(ENGINEERING_CASES):
        summary, description = ENGINEERING[index % len(ENGINEERING)]
        start = TODAY + timedelta(days=rng.randint(-25, 20))
        parent = parents[index % len(parents)] if index >= len(ENGINEERING) else None
        if parent is not None:
            summary = f"{summary}：作業 {index - len(ENGINEERING) + 1}"
            start = parent.start_date or start
        values: dict[str, object] = {
            "summary": summary,
            "description": description,
            "issue_type": task.id,
            "assignee": rng.choice(people.staff).id,
            "start_date": start,
            "due_date": start + timedelta(days=rng.randint(3, 21)),
            "estimated_hours": rng.choice((4, 8, 16, 24)),
            "priority": rng.choice(("high", "normal", "normal", "low")),
        }
        if parent is not None:
            values["parent"] = parent.id
            values["due_date"] = parent.due_date
        if rng.random() < 0.6:
            values["milestone"] = release.id
        case = service.new_case(
            session,
            eng,
            _author(people.owner),
            values,
            source="demo",
            now=_at(start - timedelta(days=3), 9, 30),
        )
        created += 1
        if parent is None:
            parents.append(case)
        if start < TODAY:
            service.change_case(
                session,
                case,
                _author(people.owner),
                {"status": states["in_progress"].id, "actual_hours": rng.choice((2, 6, 10))},
                now=_at(start, 10),
            )
    return created


def _kpt(session: Session, sup: Project, people: _People, rng: random.Random) -> int:
    month = TODAY.replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    boards = [
        KptBoard(
            project_id=sup.id,
            period=previous.strftime("%Y-%m"),
            title=f"{previous.year}年{previous.month}月のふりかえり",
            created_at=_at(previous + timedelta(days=27), 17),
            closed_at=_at(previous + timedelta(days=28), 18),
        ),
        KptBoard(
            project_id=sup.id,
            period=month.strftime("%Y-%m"),
            title=f"{month.year}年{month.month}月のふりかえり",
            created_at=_at(TODAY - timedelta(days=1), 17),
        ),
    ]
    session.add_all(boards)
    session.flush()
    created = 0
    for board in boards:
        for kind, body in KPT_CARDS:
            author = rng.choice(people.staff)
            card = KptCard(
                board_id=board.id,
                kind=kind,
                body=body,
                author_id=author.id,
                author_label=author.display_name or author.email,
                created_at=board.created_at,
            )
            session.add(card)
            session.flush()
            for voter in people.staff:
                if rng.random() < 0.5:
                    session.add(KptVote(card_id=card.id, user_id=voter.id))
            if kind == "try" and board.closed_at is not None and card.case_id is None:
                case = service.new_case(
                    session,
                    sup,
                    _author(author),
                    {"summary": body, "description": f"KPT（{board.period}）の Try から。"},
                    source="kpt",
                    now=board.closed_at,
                )
                card.case_id = case.id
                created += 1
    session.flush()
    return created


def cases_step(session: Session, context: WorldContext) -> StepReport:
    from tsunagu.demo.world import StepReport

    org = context.organizations[CITY]
    existing = session.scalar(
        select(Project.id).where(Project.organization_id == org.id, Project.key == "SUP")
    )
    created = 0
    if existing is None:
        rng = random.Random(context.seed ^ 0xCA5E5)  # noqa: S311 - demo data, not secrets
        _, created = _support(session, org, _people(session, org), rng)
    total = session.scalar(
        select(func.count()).select_from(Case).where(Case.organization_id == org.id)
    )
    return StepReport("cases", int(total or 0), created)
