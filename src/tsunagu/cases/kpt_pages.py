"""Staff pages of KPT retrospective boards, Japanese and English.

- ``/cases/projects/{KEY}/kpt`` — the project's boards across periods (how many Keeps,
  Problems and Tries each holds, how many Tries became cases) and the new-board form;
- ``/cases/kpt/{board_id}`` — one board: three columns Keep / Problem / Try, a form to add
  a card to each, a vote button per card (one vote per person, pressed again it takes the
  vote back), editing and deleting one's own cards, "Make a case" on each Try (linking to
  ``/cases/view/{CASEKEY}`` once it is one), closing the board and starting the next
  period's board (choosing which Problems are resolved and stay behind);
- ``/cases/kpt/cards/{card_id}/chain`` — a card's carry-over chain across periods.

Everything is for signed-in staff; a board, card or project the user may not see is the
friendly 404 page.  Every form carries the CSRF token.  The rules live in ``cases.kpt``;
a refused form (an empty card, a period that has a board) is shown again with the reason.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cases import kpt, service
from tsunagu.cases.models import KptBoard, KptCard, Project
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import AppError
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_noop
from tsunagu.identity.web_auth import StaffPage, csrf_protect, page_staff, redirect, render_page

router = APIRouter(include_in_schema=False)

HISTORY = "/cases/projects/{key}/kpt"
BOARD = "/cases/kpt/{board_id}"
CARD = "/cases/kpt/cards/{card_id}"

KINDS = ("keep", "problem", "try")
KIND_LABELS = {
    "keep": gettext_noop("Keep"),
    "problem": gettext_noop("Problem"),
    "try": gettext_noop("Try"),
}
KIND_HINTS = {
    "keep": gettext_noop("What went well and should go on"),
    "problem": gettext_noop("What got in the way"),
    "try": gettext_noop("What we will try next"),
}
NOTICES = {
    "added": gettext_noop("The card was added."),
    "edited": gettext_noop("The card was changed."),
    "deleted": gettext_noop("The card was deleted."),
    "closed": gettext_noop("The board is closed: it is read-only now."),
    "started": gettext_noop("The new board is open; cards were carried over."),
    "case": gettext_noop("The Try is a case now."),
}


def _history_url(project: Project) -> str:
    return HISTORY.format(key=project.key)


def _board_url(board_id: uuid.UUID, notice: str | None = None, anchor: str = "") -> str:
    url = BOARD.format(board_id=board_id)
    if notice:
        url += f"?done={notice}"
    return url + (f"#{anchor}" if anchor else "")


def _this_month(page: StaffPage) -> str:
    try:
        zone = ZoneInfo(page.organization.timezone or "Asia/Tokyo")
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("Asia/Tokyo")
    return utcnow().astimezone(zone).strftime("%Y-%m")


def _history(
    request: Request,
    db: Session,
    page: StaffPage,
    project: Project,
    *,
    error: AppError | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    summaries = kpt.boards(db, page.actor, project)
    role = kpt.role_in(db, page.actor, project)
    context: dict[str, Any] = {
        "project": project,
        "boards": summaries,
        "can_write": role != "viewer",
        "error": error.message if error else None,
        "form": form or {"period": _this_month(page), "title": ""},
    }
    return render_page(request, "cases/kpt_history.html", context, status_code=status_code)


@router.get(HISTORY)
def history(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    project = service.get_project(db, page.actor, key)
    return _history(request, db, page, project)


@router.post(HISTORY)
def create_board(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    period: str = Form(default=""),
    title: str = Form(default=""),
) -> Response:
    project = service.get_project(db, page.actor, key)
    try:
        board = kpt.create_board(db, page.actor, project, period, title=title)
    except (kpt.InvalidKpt, kpt.PeriodTaken) as exc:
        form = {"period": period, "title": title}
        return _history(
            request, db, page, project, error=exc, form=form, status_code=exc.status_code
        )
    return redirect(_board_url(board.id))


def _has_next(db: Session, board: KptBoard) -> bool:
    """Whether the board's cards were carried over to a next board already."""
    carried = select(KptCard.id).where(
        KptCard.carried_from_id.in_(select(KptCard.id).where(KptCard.board_id == board.id))
    )
    return db.scalar(carried.limit(1)) is not None


def _board(
    request: Request,
    db: Session,
    page: StaffPage,
    board_id: uuid.UUID,
    *,
    error: AppError | None = None,
    error_at: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    board, project = kpt.board_project(db, page.actor, board_id)
    views = kpt.cards(db, page.actor, board)
    role = kpt.role_in(db, page.actor, project)
    columns = {kind: [v for v in views if v.card.kind == kind] for kind in KINDS}
    done = request.query_params.get("done")
    context: dict[str, Any] = {
        "project": project,
        "board": board,
        "columns": columns,
        "kinds": KINDS,
        "kind_labels": KIND_LABELS,
        "kind_hints": KIND_HINTS,
        "is_open": board.closed_at is None,
        "can_write": role != "viewer",
        "has_next": _has_next(db, board),
        "notice": NOTICES.get(done) if done else None,
        "error": error.message if error else None,
        "error_at": error_at,
        "form": form or {},
        "next_period": kpt.suggest_next(board.period),
    }
    return render_page(request, "cases/kpt_board.html", context, status_code=status_code)


@router.get(BOARD)
def board_page(
    request: Request,
    board_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    return _board(request, db, page, board_id)


@router.post(BOARD + "/cards")
def add_card(
    request: Request,
    board_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    kind: str = Form(default=""),
    body: str = Form(default=""),
) -> Response:
    try:
        card = kpt.add_card(db, page.actor, board_id, kind, body)
    except kpt.InvalidKpt as exc:
        form = {"kind": kind, "body": body}
        return _board(
            request, db, page, board_id, error=exc, error_at=kind, form=form, status_code=422
        )
    return redirect(_board_url(board_id, "added", f"card-{card.id}"))


@router.post(BOARD + "/close")
def close_board(
    board_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    kpt.close_board(db, page.actor, board_id)
    return redirect(_board_url(board_id, "closed"))


@router.post(BOARD + "/next")
def next_board(
    request: Request,
    board_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    period: str = Form(default=""),
    title: str = Form(default=""),
    resolved: list[str] = Form(default_factory=list),
) -> Response:
    chosen: list[uuid.UUID] = []
    for value in resolved:
        try:
            chosen.append(uuid.UUID(value))
        except ValueError:
            raise kpt.InvalidKpt("resolved: not a card of this board") from None
    try:
        following = kpt.start_next(db, page.actor, board_id, period, title=title, resolved=chosen)
    except (kpt.InvalidKpt, kpt.PeriodTaken) as exc:
        form = {"period": period, "title": title}
        return _board(
            request,
            db,
            page,
            board_id,
            error=exc,
            error_at="next",
            form=form,
            status_code=exc.status_code,
        )
    return redirect(_board_url(following.id, "started"))


@router.post(CARD + "/edit")
def edit_card(
    request: Request,
    card_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    body: str = Form(default=""),
) -> Response:
    card, board, _ = kpt.card_board(db, page.actor, card_id)
    try:
        kpt.edit_card(db, page.actor, card_id, body)
    except kpt.InvalidKpt as exc:
        return _board(
            request,
            db,
            page,
            board.id,
            error=exc,
            error_at=f"card-{card.id}",
            form={"body": body},
            status_code=422,
        )
    return redirect(_board_url(board.id, "edited", f"card-{card.id}"))


@router.post(CARD + "/delete")
def delete_card(
    card_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    _, board, _ = kpt.card_board(db, page.actor, card_id)
    kpt.delete_card(db, page.actor, card_id)
    return redirect(_board_url(board.id, "deleted", f"column-{board.id}"))


@router.post(CARD + "/vote")
def vote(
    card_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    card, board, _ = kpt.card_board(db, page.actor, card_id)
    kpt.toggle_vote(db, page.actor, card_id)
    return redirect(_board_url(board.id, anchor=f"card-{card.id}"))


@router.post(CARD + "/case")
def make_case(
    card_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    card, board, _ = kpt.card_board(db, page.actor, card_id)
    kpt.make_case(db, page.actor, card_id)
    return redirect(_board_url(board.id, "case", f"card-{card.id}"))


@router.get(CARD + "/chain")
def chain(
    request: Request,
    card_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    card, board, project = kpt.card_board(db, page.actor, card_id)
    context = {
        "project": project,
        "board": board,
        "card": card,
        "links": kpt.chain(db, page.actor, card_id),
        "kind_labels": KIND_LABELS,
    }
    return render_page(request, "cases/kpt_chain.html", context)


__all__ = ["BOARD", "HISTORY", "router"]
