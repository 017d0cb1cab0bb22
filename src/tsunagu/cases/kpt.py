"""KPT retrospectives (Keep / Problem / Try) of a project, one board per period.

A board belongs to a project and a period (``2026-11``, ``2026-W48``, ``Sprint 12`` …;
unique per project).  While it is open, members add cards, vote (one vote per staff user
per card) and edit or delete their own cards (a project admin may tidy any card); a
closed board is read-only.  Starting the next period's board closes the current one and
carries over, as new cards with ``carried_from_id`` pointing back:

- every Keep;
- every Problem except those the team names as resolved;
- every Try not yet turned into a case.

A Try becomes a case of the same project with one click (``make_case``): the case's
summary is the Try's first line, its description the whole text, its source ``kpt``; the
card remembers the case, so a second click answers the same case instead of a new one.

Access goes through ``cases.service``: reading a board needs any role in its project
(a partner's members only on a shared project), writing the member role.  A board or card
the caller may not see answers 404 exactly like one that does not exist.  Functions take
the session first and only ``flush()``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases.errors import ProjectNotFound
from tsunagu.cases.models import KPT_KINDS, Case, KptBoard, KptCard, KptVote, Project
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tsunagu.identity.service import Actor

MAX_BODY = 2000
MAX_PERIOD = 40
MAX_TITLE = 200
#: how far a carry-over chain is followed (a card carried every week for years)
MAX_CHAIN = 500


class BoardNotFound(NotFound):
    """No such KPT board, or one the caller may not see (the two look the same)."""

    code = "kpt_board_not_found"


class CardNotFound(NotFound):
    code = "kpt_card_not_found"


class PeriodTaken(Conflict):
    """The project already has a board for this period."""

    code = "kpt_period_taken"


class BoardClosed(Conflict):
    """The board is closed: it is read-only now."""

    code = "kpt_board_closed"


class NotYourCard(PermissionDenied):
    """Only a card's author (or a project admin) may edit or delete it."""

    code = "kpt_not_your_card"


class VoteNeedsUser(PermissionDenied):
    """A vote is a staff user's; an API key is nobody and cannot vote."""

    code = "kpt_vote_needs_user"


class InvalidKpt(InvalidInput):
    code = "invalid_kpt"


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardSummary:
    """A board with how many cards of each kind it holds (the history across periods)."""

    board: KptBoard
    keep: int
    problem: int
    try_: int
    cases: int

    @property
    def cards(self) -> int:
        return self.keep + self.problem + self.try_


@dataclass(frozen=True, slots=True)
class CardView:
    """A card as people see it: its votes, whether I voted, the case it became."""

    card: KptCard
    votes: int
    voted: bool
    case_key: str | None
    mine: bool


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One period of a card's carry-over chain."""

    card_id: uuid.UUID
    board_id: uuid.UUID
    period: str
    kind: str
    body: str
    case_key: str | None


def _text(value: str, what: str, limit: int, *, single_line: bool = False) -> str:
    if "\x00" in value:
        raise InvalidKpt(f"{what}: NUL characters are not allowed")
    value = value.strip()
    if not value:
        raise InvalidKpt(f"{what} is required")
    if len(value) > limit:
        raise InvalidKpt(f"{what}: at most {limit} characters")
    if single_line and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidKpt(f"{what}: one line of text, without control characters")
    return value


def _title(value: str) -> str:
    if "\x00" in value:
        raise InvalidKpt("title: NUL characters are not allowed")
    value = value.strip()
    if len(value) > MAX_TITLE:
        raise InvalidKpt(f"title: at most {MAX_TITLE} characters")
    return value


def _kind(value: str) -> str:
    if value not in KPT_KINDS:
        raise InvalidKpt("kind is keep, problem or try")
    return value


def board_project(session: Session, actor: Actor, board_id: uuid.UUID) -> tuple[KptBoard, Project]:
    """A board the actor may see, and its project (404 otherwise)."""
    board = session.get(KptBoard, board_id)
    if board is None:
        raise BoardNotFound("no such KPT board")
    try:
        project = service.get_project(session, actor, board.project_id)
    except ProjectNotFound:
        raise BoardNotFound("no such KPT board") from None
    return board, project


def card_board(
    session: Session, actor: Actor, card_id: uuid.UUID
) -> tuple[KptCard, KptBoard, Project]:
    """A card the actor may see, with its board and project (404 otherwise)."""
    card = session.get(KptCard, card_id)
    if card is None:
        raise CardNotFound("no such KPT card")
    try:
        board, project = board_project(session, actor, card.board_id)
    except BoardNotFound:
        raise CardNotFound("no such KPT card") from None
    return card, board, project


def role_in(session: Session, actor: Actor, project: Project) -> str:
    """The actor's role in a project they see (viewer, member or admin)."""
    return service.require(session, actor, project, "viewer")


def boards(session: Session, actor: Actor, project: Project) -> list[BoardSummary]:
    """The project's boards, newest first, with their counts per kind (counted in SQL)."""
    service.require(session, actor, project, "viewer")

    def count(kind: str) -> ColumnElement[int]:
        return func.count(sql_case((KptCard.kind == kind, 1)))

    rows = session.execute(
        select(
            KptBoard,
            count("keep"),
            count("problem"),
            count("try"),
            func.count(KptCard.case_id),
        )
        .outerjoin(KptCard, KptCard.board_id == KptBoard.id)
        .where(KptBoard.project_id == project.id)
        .group_by(KptBoard.id)
        .order_by(KptBoard.created_at.desc(), KptBoard.period.desc())
    ).all()
    return [BoardSummary(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def cards(session: Session, actor: Actor, board: KptBoard) -> list[CardView]:
    """The board's cards (most votes first, then oldest first), with their votes."""
    project = session.get(Project, board.project_id)
    if project is None:  # pragma: no cover - a board's project cascades away with it
        raise BoardNotFound("no such KPT board")
    role = service.require(session, actor, project, "viewer")
    votes = (
        select(KptVote.card_id, func.count().label("n"))
        .join(KptCard, KptCard.id == KptVote.card_id)
        .where(KptCard.board_id == board.id)
        .group_by(KptVote.card_id)
        .subquery()
    )
    rows = session.execute(
        select(KptCard, func.coalesce(votes.c.n, 0), Case.key)
        .outerjoin(votes, votes.c.card_id == KptCard.id)
        .outerjoin(Case, Case.id == KptCard.case_id)
        .where(KptCard.board_id == board.id)
        .order_by(func.coalesce(votes.c.n, 0).desc(), KptCard.created_at, KptCard.id)
    ).all()
    mine: set[uuid.UUID] = set()
    if actor.user_id is not None:
        mine = set(
            session.scalars(
                select(KptVote.card_id)
                .join(KptCard, KptCard.id == KptVote.card_id)
                .where(KptCard.board_id == board.id, KptVote.user_id == actor.user_id)
            )
        )
    author = service.author_of(session, actor)
    return [
        CardView(
            card=card,
            votes=int(n),
            voted=card.id in mine,
            case_key=key,
            mine=_may_edit(card, author, role),
        )
        for card, n, key in rows
    ]


def chain(session: Session, actor: Actor, card_id: uuid.UUID) -> list[ChainLink]:
    """A card's carry-over chain across periods, oldest first (the card included).

    Cards carry forward one at a time, so the chain is a line: walked back through
    ``carried_from_id`` and forward through the cards carrying it, each step one indexed
    lookup, with a recursive CTE in each direction."""
    card, _, _ = card_board(session, actor, card_id)
    back = select(KptCard.id, KptCard.carried_from_id).where(KptCard.id == card.id)
    back_cte = back.cte("back", recursive=True)
    back_cte = back_cte.union_all(
        select(KptCard.id, KptCard.carried_from_id).join(
            back_cte, KptCard.id == back_cte.c.carried_from_id
        )
    )
    ahead = select(KptCard.id).where(KptCard.id == card.id)
    ahead_cte = ahead.cte("ahead", recursive=True)
    ahead_cte = ahead_cte.union_all(
        select(KptCard.id).join(ahead_cte, KptCard.carried_from_id == ahead_cte.c.id)
    )
    ids = select(back_cte.c.id).union(select(ahead_cte.c.id)).subquery()
    rows = session.execute(
        select(KptCard, KptBoard.period, Case.key)
        .join(KptBoard, KptBoard.id == KptCard.board_id)
        .outerjoin(Case, Case.id == KptCard.case_id)
        .where(KptCard.id.in_(select(ids.c.id)))
        .order_by(KptBoard.created_at, KptCard.created_at)
        .limit(MAX_CHAIN)
    ).all()
    return [ChainLink(c.id, c.board_id, period, c.kind, c.body, key) for c, period, key in rows]


# --- writing --------------------------------------------------------------------------------


def _open(board: KptBoard) -> None:
    if board.closed_at is not None:
        raise BoardClosed(f"the KPT board {board.period} is closed")


def _period_free(session: Session, project: Project, period: str) -> None:
    taken = session.scalar(
        select(KptBoard.id).where(KptBoard.project_id == project.id, KptBoard.period == period)
    )
    if taken is not None:
        raise PeriodTaken(f"the project already has a KPT board for {period}")


def _insert_board(session: Session, project: Project, period: str, title: str) -> KptBoard:
    board = KptBoard(project_id=project.id, period=period, title=title, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(board)
            session.flush()
    except IntegrityError:
        # someone made the same period between our check and our insert
        raise PeriodTaken(f"the project already has a KPT board for {period}") from None
    return board


def create_board(
    session: Session, actor: Actor, project: Project, period: str, *, title: str = ""
) -> KptBoard:
    """A new, open board of the project for ``period`` (the member role)."""
    service.require(session, actor, project, "member")
    period = _text(period, "period", MAX_PERIOD, single_line=True)
    title = _title(title)
    _period_free(session, project, period)
    return _insert_board(session, project, period, title)


def add_card(session: Session, actor: Actor, board_id: uuid.UUID, kind: str, body: str) -> KptCard:
    """A new Keep, Problem or Try card on an open board (the member role)."""
    board, project = board_project(session, actor, board_id)
    service.require(session, actor, project, "member")
    _open(board)
    kind = _kind(kind)
    body = _text(body, "body", MAX_BODY)
    author = service.author_of(session, actor)
    card = KptCard(
        board_id=board.id,
        kind=kind,
        body=body,
        author_id=author.user_id,
        author_label=author.label,
        created_at=utcnow(),
    )
    session.add(card)
    session.flush()
    return card


def _may_edit(card: KptCard, author: service.Author, role: str) -> bool:
    """A card's author may change it; a project admin may tidy any card.  An API key is
    the author of the cards it wrote (named by its label)."""
    if role == "admin":
        return True
    if role == "viewer":
        return False
    if author.user_id is not None:
        return card.author_id == author.user_id
    return card.author_id is None and card.author_label == author.label


def _own_card(
    session: Session, actor: Actor, card_id: uuid.UUID
) -> tuple[KptCard, KptBoard, Project]:
    card, board, project = card_board(session, actor, card_id)
    role = service.require(session, actor, project, "member")
    _open(board)
    if not _may_edit(card, service.author_of(session, actor), role):
        raise NotYourCard("only the card's author may change it")
    return card, board, project


def edit_card(session: Session, actor: Actor, card_id: uuid.UUID, body: str) -> KptCard:
    """Change one's own card's text while its board is open."""
    card, _, _ = _own_card(session, actor, card_id)
    card.body = _text(body, "body", MAX_BODY)
    session.flush()
    return card


def delete_card(session: Session, actor: Actor, card_id: uuid.UUID) -> None:
    """Delete one's own card while its board is open (its votes go with it)."""
    card, _, _ = _own_card(session, actor, card_id)
    session.delete(card)
    session.flush()


def _voter(session: Session, actor: Actor, card_id: uuid.UUID) -> tuple[KptCard, uuid.UUID]:
    card, board, project = card_board(session, actor, card_id)
    service.require(session, actor, project, "member")
    if actor.kind != "staff" or actor.user_id is None:
        raise VoteNeedsUser("voting needs a signed-in staff user; an API key cannot vote")
    _open(board)
    return card, actor.user_id


def vote_count(session: Session, card_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).where(KptVote.card_id == card_id)) or 0


def vote(session: Session, actor: Actor, card_id: uuid.UUID) -> int:
    """Vote for a card (a second vote by the same user changes nothing); the card's votes."""
    card, user_id = _voter(session, actor, card_id)
    if session.get(KptVote, (card.id, user_id)) is None:
        try:
            with session.begin_nested():
                session.add(KptVote(card_id=card.id, user_id=user_id, created_at=utcnow()))
                session.flush()
        except IntegrityError:
            pass  # the same user voted at the same moment from another tab: one vote
    return vote_count(session, card.id)


def unvote(session: Session, actor: Actor, card_id: uuid.UUID) -> int:
    """Take one's vote back (none to take back changes nothing); the card's votes."""
    card, user_id = _voter(session, actor, card_id)
    existing = session.get(KptVote, (card.id, user_id))
    if existing is not None:
        session.delete(existing)
        session.flush()
    return vote_count(session, card.id)


def toggle_vote(session: Session, actor: Actor, card_id: uuid.UUID) -> int:
    """Vote, or take the vote back when one was given (the pages' one button)."""
    card, user_id = _voter(session, actor, card_id)
    if session.get(KptVote, (card.id, user_id)) is None:
        return vote(session, actor, card_id)
    return unvote(session, actor, card_id)


def close_board(session: Session, actor: Actor, board_id: uuid.UUID) -> KptBoard:
    """Close an open board (the member role): it is read-only from now on."""
    board, project = board_project(session, actor, board_id)
    service.require(session, actor, project, "member")
    _open(board)
    board.closed_at = utcnow()
    session.flush()
    return board


def start_next(
    session: Session,
    actor: Actor,
    board_id: uuid.UUID,
    period: str,
    *,
    title: str = "",
    resolved: Iterable[uuid.UUID] = (),
) -> KptBoard:
    """The next period's board, carrying over the Keeps, the Problems not in ``resolved``
    and the Tries not turned into cases; the current board is closed if it is still open.
    A board carries over once: its next board is the one that did."""
    board, project = board_project(session, actor, board_id)
    service.require(session, actor, project, "member")
    period = _text(period, "period", MAX_PERIOD, single_line=True)
    title = _title(title)
    done = set(resolved)
    source = session.scalars(
        select(KptCard).where(KptCard.board_id == board.id).order_by(KptCard.created_at, KptCard.id)
    ).all()
    ids = {card.id for card in source}
    if not done <= ids:
        raise InvalidKpt("resolved: only this board's Problem cards")
    if any(card.kind != "problem" for card in source if card.id in done):
        raise InvalidKpt("resolved: only Problem cards can be resolved")
    carried = ids and session.scalar(
        select(func.count()).select_from(KptCard).where(KptCard.carried_from_id.in_(ids))
    )
    if carried:
        raise Conflict("this board's cards were carried over to a next board already")
    _period_free(session, project, period)
    now = utcnow()
    if board.closed_at is None:
        board.closed_at = now
    following = _insert_board(session, project, period, title)
    for card in source:
        if _carries(card, done):
            session.add(
                KptCard(
                    board_id=following.id,
                    kind=card.kind,
                    body=card.body,
                    author_id=card.author_id,
                    author_label=card.author_label,
                    carried_from_id=card.id,
                    created_at=now,
                )
            )
    session.flush()
    return following


def _carries(card: KptCard, resolved: set[uuid.UUID]) -> bool:
    if card.kind == "keep":
        return True
    if card.kind == "problem":
        return card.id not in resolved
    return card.case_id is None


def suggest_next(period: str) -> str:
    """The period after ``period`` when it is a month (``2026-11`` → ``2026-12``) or an ISO
    week (``2026-W52`` → ``2027-W01``); anything else (a sprint's name) suggests nothing."""
    month = re.fullmatch(r"(\d{4})-(\d{2})", period)
    if month and 1 <= int(month[2]) <= 12:
        year, number = int(month[1]), int(month[2])
        return f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    week = re.fullmatch(r"(\d{4})-W(\d{2})", period)
    if week:
        try:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            return ""
        following = (monday + timedelta(days=7)).isocalendar()
        return f"{following.year:04d}-W{following.week:02d}"
    return ""


def case_summary(body: str) -> str:
    """A case's summary from a Try: its first non-empty line, cut to fit."""
    first = next((line.strip() for line in body.splitlines() if line.strip()), body.strip())
    if len(first) > service.MAX_SUMMARY:
        first = first[: service.MAX_SUMMARY - 1] + "…"
    return first


@dataclass(frozen=True, slots=True)
class MadeCase:
    case: Case
    created: bool


def make_case(
    session: Session, actor: Actor, card_id: uuid.UUID, *, now: datetime | None = None
) -> MadeCase:
    """Turn a Try into a case of the board's project (the member role, an open board).

    The card row is locked while this runs, and a Try that became a case answers that
    case (``created`` false) instead of making a second one."""
    card, board, project = card_board(session, actor, card_id)
    service.require(session, actor, project, "member")
    locked = session.scalars(select(KptCard).where(KptCard.id == card.id).with_for_update()).one()
    session.refresh(locked, ["case_id"])
    if locked.case_id is not None:
        existing = session.get(Case, locked.case_id)
        if existing is not None:
            return MadeCase(existing, created=False)
    if locked.kind != "try":
        raise InvalidKpt("only a Try card can become a case")
    _open(board)
    description = f"{locked.body}\n\n---\nKPT {board.period} (Try)"
    made = service.new_case(
        session,
        project,
        service.author_of(session, actor),
        {"summary": case_summary(locked.body), "description": description},
        source="kpt",
        now=now,
    )
    locked.case_id = made.id
    session.flush()
    return MadeCase(made, created=True)


__all__ = [
    "MAX_BODY",
    "MAX_PERIOD",
    "BoardClosed",
    "BoardNotFound",
    "BoardSummary",
    "CardNotFound",
    "CardView",
    "ChainLink",
    "InvalidKpt",
    "MadeCase",
    "NotYourCard",
    "PeriodTaken",
    "VoteNeedsUser",
    "add_card",
    "board_project",
    "boards",
    "card_board",
    "cards",
    "chain",
    "close_board",
    "create_board",
    "delete_card",
    "edit_card",
    "make_case",
    "role_in",
    "start_next",
    "suggest_next",
    "toggle_vote",
    "unvote",
    "vote",
]
