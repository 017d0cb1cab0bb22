"""``tsunagu linkage psi MEMBERS.csv --url … --collaboration ID --key-file PATH --out …``:
the recipient's client against the API, and one-line errors with their exit status."""

from __future__ import annotations

import csv
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.e2e.linkage_api.conftest import World, activate, upload_all
from tests.integration.linkage import scenario
from tests.support.live import free_port
from tsunagu.cli import run
from tsunagu.linkage.cli import psi_file

HEADER = ["id", "family_name", "given_name", "birth_date", "email", "phone"]


def member_file(world: World, path: Path) -> Path:
    """The maker's member list as a CSV file on its own machine."""
    rows = [orjson.loads(line) for line in world.sc.members_jsonl().splitlines()]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows([r.get(c, "") for c in HEADER] for r in rows)
    return path


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The test's app (its rolled-back transaction included) served by uvicorn on 127.0.0.1:
    the command talks HTTP to it like to the platform."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
        )
    )
    thread = threading.Thread(target=server.run, name="psi-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def said(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The command's own stderr lines (the app's JSON log lines, when it ran, left out)."""
    return [line for line in capsys.readouterr().err.splitlines() if not line.startswith("{")]


def read_ids(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


class TestPsiFile:
    def test_writes_the_matched_members_under_an_id_header(
        self, client: TestClient, world: World, tmp_path: Path
    ) -> None:
        cid = activate(client, world)
        upload_all(client, world, cid)
        out = tmp_path / "matched.csv"
        key = world.keys["maker_member"]["Authorization"].removeprefix("Bearer ")
        psi_file(
            member_file(world, tmp_path / "members.csv"),
            out,
            url="http://testserver",
            collaboration=uuid.UUID(cid),
            api_key=key,
            client=client,
        )
        assert read_ids(out) == [["id"], *([f"M{i:05d}"] for i in scenario.LINKED)]


class TestCommand:
    def test_the_command_writes_the_consenting_members_from_a_live_server(
        self, client: TestClient, world: World, live_url: str, tmp_path: Path
    ) -> None:
        cid = activate(client, world)
        upload_all(client, world, cid)
        key_file = tmp_path / "maker.key"
        key = world.keys["maker_member"]["Authorization"].removeprefix("Bearer ")
        key_file.write_text(key + "\n", encoding="utf-8")
        out = tmp_path / "matched.csv"
        code = run(
            [
                "linkage", "psi", str(member_file(world, tmp_path / "members.csv")),
                "--url", live_url,
                "--collaboration", cid,
                "--key-file", str(key_file),
                "--out", str(out),
            ]
        )  # fmt: skip
        assert (code, read_ids(out)) == (0, [["id"], *([f"M{i:05d}"] for i in scenario.LINKED)])

    def test_a_refusal_by_the_server_is_exit_1_with_its_detail(
        self,
        client: TestClient,
        world: World,
        live_url: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        cid = activate(client, world)
        upload_all(client, world, cid)
        key_file = tmp_path / "retailer.key"
        key = world.keys["retailer_member"]["Authorization"].removeprefix("Bearer ")
        key_file.write_text(key, encoding="utf-8")
        code = run(
            [
                "linkage", "psi", str(member_file(world, tmp_path / "members.csv")),
                "--url", live_url,
                "--collaboration", cid,
                "--key-file", str(key_file),
                "--out", str(tmp_path / "out.csv"),
            ]
        )  # fmt: skip
        lines = said(capsys)
        assert (code, len(lines), lines[0].startswith("error: the server answered 403: only")) == (
            1,
            1,
            True,
        )


class TestCommandErrors:
    @pytest.fixture
    def key_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "key.txt"
        path.write_text("tsk_not_a_real_key\n", encoding="utf-8")
        return path

    def test_an_unreachable_server_is_exit_1_with_one_line(
        self, world: World, tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        members = member_file(world, tmp_path / "members.csv")
        code = run(
            [
                "linkage", "psi", str(members),
                "--url", f"http://127.0.0.1:{free_port()}",
                "--collaboration", str(uuid.uuid4()),
                "--key-file", str(key_file),
                "--out", str(tmp_path / "out.csv"),
            ]
        )  # fmt: skip
        lines = said(capsys)
        assert (code, len(lines), lines[0].startswith("error: cannot reach")) == (1, 1, True)

    def test_an_empty_key_file_is_exit_2(
        self, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        members = member_file(world, tmp_path / "members.csv")
        empty = tmp_path / "empty.txt"
        empty.write_text("", encoding="utf-8")
        code = run(
            [
                "linkage", "psi", str(members),
                "--url", "http://127.0.0.1:9",
                "--collaboration", str(uuid.uuid4()),
                "--key-file", str(empty),
                "--out", str(tmp_path / "out.csv"),
            ]
        )  # fmt: skip
        assert (code, said(capsys)) == (2, [f"error: the key file {empty} is empty"])

    def test_a_collaboration_that_is_not_an_id_is_exit_2(
        self, tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = run(
            [
                "linkage", "psi", str(tmp_path / "members.csv"),
                "--url", "http://127.0.0.1:9",
                "--collaboration", "maker-2026",
                "--key-file", str(key_file),
                "--out", str(tmp_path / "out.csv"),
            ]
        )  # fmt: skip
        assert (code, said(capsys)[0].startswith("error: --collaboration")) == (2, True)

    def test_a_missing_member_file_is_exit_2(
        self, tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = run(
            [
                "linkage", "psi", str(tmp_path / "absent.csv"),
                "--url", "http://127.0.0.1:9",
                "--collaboration", str(uuid.uuid4()),
                "--key-file", str(key_file),
                "--out", str(tmp_path / "out.csv"),
            ]
        )  # fmt: skip
        assert (code, len(said(capsys))) == (2, 1)
