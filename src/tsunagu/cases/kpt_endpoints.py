"""JSON API of KPT retrospective boards (mounted under ``/api/v1``, before the cases API).

Thin: every rule lives in ``cases.kpt`` (reading needs any role in the board's project,
writing the member role; anything not visible answers 404, like what does not exist).

==================================================  ======  ===============================
path                                                role    what
==================================================  ======  ===============================
GET    /cases/projects/{key}/kpt                    any     the boards, newest first, with
                                                            their counts per kind
POST   /cases/projects/{key}/kpt                    member  a new board ``{"period"}`` (201;
                                                            409 when the period has one)
GET    /cases/kpt/{board_id}                        any     the board and its cards, votes
POST   /cases/kpt/{board_id}/cards                  member  a card ``{"kind","body"}`` (201)
POST   /cases/kpt/{board_id}/close                  member  close it (read-only after)
POST   /cases/kpt/{board_id}/next                   member  the next period's board (201),
                                                            carrying cards over
PATCH  /cases/kpt/cards/{card_id}                   member  one's own card's text
DELETE /cases/kpt/cards/{card_id}                   member  one's own card (204)
GET    /cases/kpt/cards/{card_id}/chain             any     its carry-over chain
POST   /cases/kpt/cards/{card_id}/vote              member  vote (a staff user's: an API key
DELETE /cases/kpt/cards/{card_id}/vote              member  gets 403 ``kpt_vote_needs_user``)
POST   /cases/kpt/cards/{card_id}/case              member  a Try → a case (201; the same
                                                            case again: 200)
==================================================  ======  ===============================
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tsunagu.cases import kpt, service
from tsunagu.cases.models import KptBoard
from tsunagu.cases.schemas import StrictBody
from tsunagu.identity.dependencies import ApiActor, DbSession
from tsunagu.identity.service import Actor

router = APIRouter(tags=["cases-kpt"])

BOARDS = "/cases/projects/{key}/kpt"
BOARD = "/cases/kpt/{board_id}"
CARD = "/cases/kpt/cards/{card_id}"
MAX_RESOLVED = 500

Kind = Literal["keep", "problem", "try"]


# --- shapes ---------------------------------------------------------------------------------


class Out(BaseModel):
    """An answer: camelCase names as the rest of the cases API (``boardId``, ``caseKey``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class BoardCreate(StrictBody):
    period: str = Field(min_length=1, max_length=kpt.MAX_PERIOD)
    title: str = Field(default="", max_length=kpt.MAX_TITLE)


class NextBoard(BoardCreate):
    #: the board's Problem cards that are solved and are not carried over
    resolved: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_RESOLVED)


class CardCreate(StrictBody):
    kind: Kind
    body: str = Field(min_length=1, max_length=kpt.MAX_BODY)


class CardUpdate(StrictBody):
    body: str = Field(min_length=1, max_length=kpt.MAX_BODY)


class BoardOut(Out):
    id: uuid.UUID
    project: str
    period: str
    title: str
    created: datetime
    closed: datetime | None
    keep: int
    problem: int
    try_: int = Field(serialization_alias="try")
    cases: int


class CardOut(Out):
    id: uuid.UUID
    board_id: uuid.UUID
    kind: str
    body: str
    author: str
    author_id: uuid.UUID | None
    carried_from_id: uuid.UUID | None
    case_key: str | None
    votes: int
    voted: bool
    created: datetime


class BoardDetailOut(BoardOut):
    cards: list[CardOut]


class VotesOut(Out):
    card_id: uuid.UUID
    votes: int
    voted: bool


class ChainOut(Out):
    card_id: uuid.UUID
    board_id: uuid.UUID
    period: str
    kind: str
    body: str
    case_key: str | None


class CaseMadeOut(Out):
    key: str
    id: uuid.UUID
    summary: str
    card_id: uuid.UUID
    created: bool


# --- shaping --------------------------------------------------------------------------------


def _board_out(summary: kpt.BoardSummary, key: str) -> BoardOut:
    board = summary.board
    return BoardOut(
        id=board.id,
        project=key,
        period=board.period,
        title=board.title,
        created=board.created_at,
        closed=board.closed_at,
        keep=summary.keep,
        problem=summary.problem,
        try_=summary.try_,
        cases=summary.cases,
    )


def _card_out(view: kpt.CardView) -> CardOut:
    card = view.card
    return CardOut(
        id=card.id,
        board_id=card.board_id,
        kind=card.kind,
        body=card.body,
        author=card.author_label,
        author_id=card.author_id,
        carried_from_id=card.carried_from_id,
        case_key=view.case_key,
        votes=view.votes,
        voted=view.voted,
        created=card.created_at,
    )


def _detail(db: DbSession, actor: Actor, board: KptBoard) -> BoardDetailOut:
    board, project = kpt.board_project(db, actor, board.id)
    views = kpt.cards(db, actor, board)
    counts = {kind: sum(1 for v in views if v.card.kind == kind) for kind in ("keep", "problem")}
    summary = kpt.BoardSummary(
        board,
        counts["keep"],
        counts["problem"],
        sum(1 for v in views if v.card.kind == "try"),
        sum(1 for v in views if v.card.case_id is not None),
    )
    out = _board_out(summary, project.key)
    return BoardDetailOut(**out.model_dump(), cards=[_card_out(v) for v in views])


def _one_card(db: DbSession, actor: Actor, card_id: uuid.UUID) -> CardOut:
    card, board, _ = kpt.card_board(db, actor, card_id)
    return next(_card_out(v) for v in kpt.cards(db, actor, board) if v.card.id == card.id)


# --- boards ---------------------------------------------------------------------------------


@router.get(BOARDS, response_model=list[BoardOut])
def list_boards(key: str, actor: ApiActor, db: DbSession) -> list[BoardOut]:
    """The project's boards, newest first, with how many cards of each kind they hold."""
    project = service.get_project(db, actor, key)
    return [_board_out(s, project.key) for s in kpt.boards(db, actor, project)]


@router.post(BOARDS, status_code=status.HTTP_201_CREATED, response_model=BoardDetailOut)
def create_board(key: str, body: BoardCreate, actor: ApiActor, db: DbSession) -> BoardDetailOut:
    """A new board for a period (``2026-11``, ``2026-W48``, a sprint's name …)."""
    project = service.get_project(db, actor, key)
    board = kpt.create_board(db, actor, project, body.period, title=body.title)
    return _detail(db, actor, board)


@router.get(BOARD, response_model=BoardDetailOut)
def get_board(board_id: uuid.UUID, actor: ApiActor, db: DbSession) -> BoardDetailOut:
    """The board with its cards, most votes first."""
    board, _ = kpt.board_project(db, actor, board_id)
    return _detail(db, actor, board)


@router.post(BOARD + "/cards", status_code=status.HTTP_201_CREATED, response_model=CardOut)
def add_card(board_id: uuid.UUID, body: CardCreate, actor: ApiActor, db: DbSession) -> CardOut:
    """A Keep, Problem or Try card on an open board."""
    card = kpt.add_card(db, actor, board_id, body.kind, body.body)
    return _one_card(db, actor, card.id)


@router.post(BOARD + "/close", response_model=BoardDetailOut)
def close_board(board_id: uuid.UUID, actor: ApiActor, db: DbSession) -> BoardDetailOut:
    """Close the board: read-only from now on (409 when it is closed already)."""
    board = kpt.close_board(db, actor, board_id)
    return _detail(db, actor, board)


@router.post(BOARD + "/next", status_code=status.HTTP_201_CREATED, response_model=BoardDetailOut)
def next_board(
    board_id: uuid.UUID, body: NextBoard, actor: ApiActor, db: DbSession
) -> BoardDetailOut:
    """The next period's board; closes this one and carries the Keeps, the Problems not
    named in ``resolved`` and the Tries not turned into cases over to it."""
    following = kpt.start_next(
        db, actor, board_id, body.period, title=body.title, resolved=body.resolved
    )
    return _detail(db, actor, following)


# --- cards ----------------------------------------------------------------------------------


@router.patch(CARD, response_model=CardOut)
def edit_card(card_id: uuid.UUID, body: CardUpdate, actor: ApiActor, db: DbSession) -> CardOut:
    """Change one's own card's text while its board is open."""
    kpt.edit_card(db, actor, card_id, body.body)
    return _one_card(db, actor, card_id)


@router.delete(CARD, status_code=status.HTTP_204_NO_CONTENT)
def delete_card(card_id: uuid.UUID, actor: ApiActor, db: DbSession) -> Response:
    """Delete one's own card while its board is open."""
    kpt.delete_card(db, actor, card_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(CARD + "/chain", response_model=list[ChainOut])
def card_chain(card_id: uuid.UUID, actor: ApiActor, db: DbSession) -> list[ChainOut]:
    """The card across periods: where it was carried from and to, oldest first."""
    return [
        ChainOut(
            card_id=link.card_id,
            board_id=link.board_id,
            period=link.period,
            kind=link.kind,
            body=link.body,
            case_key=link.case_key,
        )
        for link in kpt.chain(db, actor, card_id)
    ]


@router.post(CARD + "/vote", response_model=VotesOut)
def vote(card_id: uuid.UUID, actor: ApiActor, db: DbSession) -> VotesOut:
    """Vote for the card (a staff user's vote; API keys get 403 ``kpt_vote_needs_user``)."""
    votes = kpt.vote(db, actor, card_id)
    return VotesOut(card_id=card_id, votes=votes, voted=True)


@router.delete(CARD + "/vote", response_model=VotesOut)
def unvote(card_id: uuid.UUID, actor: ApiActor, db: DbSession) -> VotesOut:
    """Take one's vote back."""
    votes = kpt.unvote(db, actor, card_id)
    return VotesOut(card_id=card_id, votes=votes, voted=False)


@router.post(
    CARD + "/case",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseMadeOut,
    responses={200: {"description": "the Try became this case before", "model": CaseMadeOut}},
)
def make_case(
    card_id: uuid.UUID, actor: ApiActor, db: DbSession, response: Response
) -> CaseMadeOut:
    """Turn a Try into a case of the board's project (201), or answer the case it became
    before (200)."""
    made = kpt.make_case(db, actor, card_id)
    if not made.created:
        response.status_code = status.HTTP_200_OK
    return CaseMadeOut(
        key=made.case.key,
        id=made.case.id,
        summary=made.case.summary,
        card_id=card_id,
        created=made.created,
    )


__all__ = ["router"]
