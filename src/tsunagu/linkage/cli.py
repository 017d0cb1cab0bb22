"""``tsunagu linkage …``: link two customer files, evaluate linkage before a collaboration.

::

    tsunagu linkage link LEFT.csv RIGHT.csv --out PAIRS.csv [--threshold P]
                         [--all-candidates] [--report REPORT.json]
    tsunagu linkage psi MEMBERS.csv --url BASE_URL --collaboration ID --key-file PATH
                        --out MATCHED.csv

``link`` reads both files (``tsunagu.linkage.files``: UTF-8 with or without BOM, or CP932;
columns recognised by header), links them with the probabilistic model
(``tsunagu.linkage.probabilistic``) and writes ``left_id,right_id,match_probability``
(UTF-8, that header exactly), one-to-one unless ``--all-candidates``.  A file that cannot
be used (missing, empty, not CSV, undecodable, no ``id`` column, duplicate ids) is one
``error: …`` line on stderr and exit status 2; a one-line summary goes to stderr, never to
the pairs file.  The command needs no database and no ``TSUNAGU_HOME``.

``psi`` is the recipient's side of private set intersection against a collaboration
(``tsunagu.linkage.psi_service``): the member file never leaves this machine; its members'
items are blinded here with a fresh secret, sent to the platform's
``POST /api/v1/linkage/collaborations/{id}/psi`` with the API key read from ``--key-file``,
and the members whose items the provider's consenting customers share are written as
``id`` (UTF-8, that header).  Unusable files or options exit 2, a refusal by the server or
an unreachable server 1, each with one ``error: …`` line.
"""

from __future__ import annotations

import csv
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import typer

from tsunagu.core.errors import AppError
from tsunagu.linkage.files import LinkageFileError, read_people_csv
from tsunagu.linkage.probabilistic import LinkageError, LinkResult, link
from tsunagu.linkage.psi import PsiClient, PsiProtocolError, PsiResponse
from tsunagu.linkage.psi_service import decode_points, encode_points, member_items

__all__ = [
    "MATCHED_HEADER",
    "OUTPUT_HEADER",
    "HttpPoster",
    "PsiOutcome",
    "PsiServerError",
    "link_files",
    "linkage_app",
    "psi_file",
]

linkage_app = typer.Typer(help="Linkage: link customer files across organizations.")

#: the pairs file's header (a contract scripts rely on)
OUTPUT_HEADER = ("left_id", "right_id", "match_probability")
#: the matched-members file's header
MATCHED_HEADER = ("id",)
#: exit status for files or options that cannot be used (as for usage errors)
BAD_INPUT = 2
#: exit status when the server refuses the exchange or cannot be reached
SERVER_FAILED = 1
#: seconds to wait for the server's answer (it blinds the provider's whole consenting set)
PSI_TIMEOUT = 600.0


def link_files(
    left: Path,
    right: Path,
    out: Path,
    *,
    threshold: float | None = None,
    all_candidates: bool = False,
    report: Path | None = None,
) -> LinkResult:
    """Link the files ``left`` and ``right``, write the pairs to ``out`` (and the report).

    What the command runs, end to end (the quality benchmark times this function).
    """
    left_table = read_people_csv(left)
    right_table = read_people_csv(right)
    result = link(left_table, right_table, threshold=threshold, one_to_one=not all_candidates)
    columns = [result.pairs.column(name).to_pylist() for name in OUTPUT_HEADER]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(OUTPUT_HEADER)
        writer.writerows(
            (left_id, right_id, f"{probability:.6f}")
            for left_id, right_id, probability in zip(*columns, strict=True)
        )
    if report is not None:
        report.write_text(
            json.dumps(result.report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n",
            encoding="utf-8",
        )
    return result


@linkage_app.command("link")
def link_command(
    left: Path = typer.Argument(..., metavar="LEFT.csv", help="The first customer file."),
    right: Path = typer.Argument(..., metavar="RIGHT.csv", help="The second customer file."),
    out: Path = typer.Option(..., "--out", metavar="PAIRS.csv", help="Where to write the pairs."),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        metavar="P",
        help="Link pairs with a match probability of at least P (default: best expected F1).",
    ),
    all_candidates: bool = typer.Option(
        False, "--all-candidates", help="List every pair above the threshold, not one-to-one."
    ),
    report: Path | None = typer.Option(
        None,
        "--report",
        metavar="REPORT.json",
        help="Write the match-quality report (estimated precision/recall/F1, borderline pairs).",
    ),
) -> None:
    """Link two customer files probabilistically; write left_id,right_id,match_probability.

    Columns are recognised by header: id (required, unique), family_name, given_name,
    family_name_kana, given_name_kana, birth_date, sex, postal_code, address, phone, email.
    """
    if threshold is not None and not 0.0 < threshold <= 1.0:
        typer.echo(f"error: --threshold must be in (0, 1], not {threshold}", err=True)
        raise typer.Exit(BAD_INPUT)
    try:
        result = link_files(
            left, right, out, threshold=threshold, all_candidates=all_candidates, report=report
        )
    except (LinkageFileError, LinkageError) as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    estimate = result.report.estimate
    typer.echo(
        f"linked {result.pairs.num_rows} pairs at threshold {result.threshold:.4f} "
        f"({result.report.threshold_source}; expected precision {estimate.precision:.3f}, "
        f"recall {estimate.recall:.3f}) into {out}",
        err=True,
    )


class PsiServerError(AppError):
    """The platform refused the PSI exchange, could not be reached or answered nonsense."""

    code = "psi_server_error"


class HttpPoster(Protocol):
    """What ``psi_file`` needs of an HTTP client: ``httpx.Client`` or a test client."""

    def post(self, url: Any, *, json: Any = ..., headers: Any = ...) -> Any: ...


@dataclass(frozen=True)
class PsiOutcome:
    """What the recipient learned: its matched members and the sizes of both sets."""

    members: int
    matched: list[str]
    server_set_size: int
    ledger_index: int


def _server_error(response: Any) -> PsiServerError:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = ""
    return PsiServerError(
        f"the server answered {response.status_code}" + (f": {detail}" if detail else "")
    )


def psi_file(
    members: Path,
    out: Path,
    *,
    url: str,
    collaboration: uuid.UUID,
    api_key: str,
    client: HttpPoster | None = None,
) -> PsiOutcome:
    """Run the recipient's side of PSI for the member file against ``url``; write the matched
    members' ids to ``out``.  ``client`` (e.g. a test client of the app) replaces the HTTP
    client the command builds."""
    table = read_people_csv(members)
    by_item = member_items(table)
    items = list(by_item)
    if not items:
        raise LinkageFileError(
            f"{members}: no member has an e-mail address or a phone number with a birth date; "
            "nothing can be intersected"
        )
    psi = PsiClient(items)
    body = {"points": encode_points(psi.request().points)}
    path = f"/api/v1/linkage/collaborations/{collaboration}/psi"
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        if client is None:
            with httpx.Client(base_url=url, timeout=PSI_TIMEOUT) as own:
                response = own.post(path, json=body, headers=headers)
        else:
            response = client.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise PsiServerError(f"cannot reach {url}: {exc}") from None
    if response.status_code != 200:
        raise _server_error(response)
    try:
        answer = response.json()
        message = PsiResponse(
            tuple(decode_points(answer["reblinded"], "reblinded")),
            tuple(decode_points(answer["server_points"], "server_points")),
        )
        found = psi.intersection(message)
        ledger_index = int(answer["ledger_index"])
    except (ValueError, KeyError, TypeError, PsiProtocolError) as exc:
        raise PsiServerError(f"the server's answer is not a PSI response: {exc}") from None
    ids: set[str] = set()
    for item in found:
        ids.update(by_item[item])
    in_file_order = [str(i) for i in table.column("id").to_pylist() if str(i) in ids]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MATCHED_HEADER)
        writer.writerows((i,) for i in in_file_order)
    return PsiOutcome(
        members=table.num_rows,
        matched=in_file_order,
        server_set_size=psi.server_set_size or 0,
        ledger_index=ledger_index,
    )


@linkage_app.command("psi")
def psi_command(
    members: Path = typer.Argument(..., metavar="MEMBERS.csv", help="Your member file."),
    url: str = typer.Option(..., "--url", metavar="BASE_URL", help="The platform, e.g. https://…"),
    collaboration: str = typer.Option(
        ..., "--collaboration", metavar="ID", help="The collaboration's id."
    ),
    key_file: Path = typer.Option(
        ..., "--key-file", metavar="PATH", help="A file holding your organization's API key."
    ),
    out: Path = typer.Option(
        ..., "--out", metavar="MATCHED.csv", help="Where to write the matched member ids."
    ),
) -> None:
    """Private set intersection: which of your members are the provider's consenting
    customers — without sending the member list and without a shared key.

    Columns as for ``link``; the items are e-mail + birth date and phone + birth date.
    """
    try:
        collaboration_id = uuid.UUID(collaboration)
    except ValueError:
        typer.echo(
            f"error: --collaboration must be a collaboration id, not {collaboration!r}", err=True
        )
        raise typer.Exit(BAD_INPUT) from None
    try:
        api_key = key_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: cannot read the key file {key_file}: {exc}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    if not api_key:
        typer.echo(f"error: the key file {key_file} is empty", err=True)
        raise typer.Exit(BAD_INPUT)
    try:
        outcome = psi_file(members, out, url=url, collaboration=collaboration_id, api_key=api_key)
    except LinkageFileError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    except PsiServerError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(SERVER_FAILED) from None
    typer.echo(
        f"{len(outcome.matched)} of {outcome.members} members are in the intersection "
        f"(the server offered {outcome.server_set_size} items; ledger entry "
        f"{outcome.ledger_index}) into {out}",
        err=True,
    )
