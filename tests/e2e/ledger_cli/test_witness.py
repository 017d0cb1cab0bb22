"""``tsunagu witness``: init, run against a live log, cosign its growth, refuse a rewrite."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import Cli, count, free_port, one_error_line
from tests.e2e.ledger_cli.conftest import (
    LOG,
    Server,
    append_and_publish,
    register_witness,
    rewrite_entry,
    tamper,
)
from tsunagu.ledger.models import LedgerAlarm, LedgerCosignature
from tsunagu.ledger.note import ALG_COSIGNATURE_V1, Verifier

NAME = "witness.example/w1"


def init_witness(cli: Cli, where: Path) -> str:
    result = cli("witness", "init", "--home", str(where), "--name", NAME, "--log-key", LOG.vkey())
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def run_once(cli: Cli, server: Server, where: Path) -> tuple[int, str, str]:
    result = cli("witness", "run", server.url, "--home", str(where), "--once")
    return result.returncode, result.stdout, result.stderr


def state(where: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((where / "state.json").read_text())
    return data


class TestWitnessInit:
    def test_vkey_is_alone_on_the_last_line(self, cli: Cli, tmp_path: Path) -> None:
        vkey = init_witness(cli, tmp_path / "w")

        verifier = Verifier.from_vkey(vkey)
        assert (verifier.name, verifier.alg) == (NAME, ALG_COSIGNATURE_V1)

    def test_second_init_is_one_error_line(self, cli: Cli, tmp_path: Path) -> None:
        init_witness(cli, tmp_path / "w")

        result = cli(
            "witness",
            "init",
            "--home",
            str(tmp_path / "w"),
            "--name",
            NAME,
            "--log-key",
            LOG.vkey(),
        )

        assert result.returncode == 1
        assert "already holds a witness" in one_error_line(result)

    def test_malformed_log_key_is_one_error_line(self, cli: Cli, tmp_path: Path) -> None:
        result = cli(
            "witness", "init", "--home", str(tmp_path / "w"), "--name", NAME, "--log-key", "nope"
        )

        assert result.returncode == 1
        assert "not a log verifier key" in one_error_line(result)


class TestWitnessStatus:
    def test_new_witness_has_cosigned_nothing(self, cli: Cli, tmp_path: Path) -> None:
        vkey = init_witness(cli, tmp_path / "w")

        result = cli("witness", "status", "--home", str(tmp_path / "w"))

        assert result.returncode == 0, result.stderr
        assert vkey in result.stdout
        assert "nothing yet" in result.stdout

    def test_missing_home_is_one_error_line(self, cli: Cli, tmp_path: Path) -> None:
        result = cli("witness", "status", "--home", str(tmp_path / "nowhere"))

        assert result.returncode == 1
        assert "witness init" in one_error_line(result)


class TestWitnessRun:
    def test_first_checkpoint_is_cosigned_and_delivered(
        self, cli: Cli, tmp_path: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 10)
        where = tmp_path / "w"
        assert register_witness(server, init_witness(cli, where)).status_code == 201

        status, out, err = run_once(cli, server, where)

        assert status == 0, err
        assert "cosigned size 10" in out
        assert count(home_engine, LedgerCosignature) == 1
        assert state(where)["trusted_first_use"] is not None

    def test_growth_is_cosigned_after_its_consistency_proof(
        self, cli: Cli, tmp_path: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 10)
        where = tmp_path / "w"
        register_witness(server, init_witness(cli, where))
        run_once(cli, server, where)
        append_and_publish(home_engine, 7)

        status, out, err = run_once(cli, server, where)

        assert status == 0, err
        assert "cosigned size 17: size 17 extends cosigned size 10" in out
        assert count(home_engine, LedgerCosignature) == 2

    def test_unchanged_log_is_not_cosigned_again(
        self, cli: Cli, tmp_path: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 3)
        where = tmp_path / "w"
        register_witness(server, init_witness(cli, where))
        run_once(cli, server, where)

        status, out, _ = run_once(cli, server, where)

        assert status == 0
        assert out.startswith("unchanged")
        assert count(home_engine, LedgerCosignature) == 1

    def test_rewritten_history_is_refused_with_an_alarm(
        self, cli: Cli, tmp_path: Path, home: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 10)
        where = tmp_path / "w"
        register_witness(server, init_witness(cli, where))
        run_once(cli, server, where)
        rewrite_entry(home, 3, b'{"kind":"access.allowed","actor":"nobody"}')
        append_and_publish(home_engine, 5)

        status, out, err = run_once(cli, server, where)

        assert status == 3
        assert "cosigned" not in out
        assert err.startswith("alarm: history was rewritten")
        alarms = state(where)["alarms"]
        assert isinstance(alarms, list)
        assert len(alarms) == 1
        assert alarms[0]["delivered"] is True
        assert state(where)["size"] == 10
        with Session(home_engine) as session:
            sources = session.scalars(select(LedgerAlarm.source)).all()
        assert any(NAME in source for source in sources)

    def test_same_size_with_another_root_is_refused_as_a_fork(
        self, cli: Cli, tmp_path: Path, home: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 10)
        where = tmp_path / "w"
        register_witness(server, init_witness(cli, where))
        run_once(cli, server, where)
        rewrite_entry(home, 3, b'{"kind":"access.allowed","actor":"nobody"}')
        # the operator also drops the honest checkpoint so the server signs the forged root
        tamper(
            home, ("DELETE FROM ledger_cosignatures", ()), ("DELETE FROM ledger_checkpoints", ())
        )

        status, _, err = run_once(cli, server, where)

        assert status == 3
        assert err.startswith("alarm: the log forked: two different roots for size 10")

    def test_refusal_persists_on_the_next_round(
        self, cli: Cli, tmp_path: Path, home: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 10)
        where = tmp_path / "w"
        register_witness(server, init_witness(cli, where))
        run_once(cli, server, where)
        rewrite_entry(home, 3, b'{"kind":"access.allowed","actor":"nobody"}')
        append_and_publish(home_engine, 5)
        run_once(cli, server, where)

        status, _, err = run_once(cli, server, where)

        assert status == 3
        assert err.startswith("alarm: ")
        assert count(home_engine, LedgerCosignature) == 1

    def test_unregistered_witness_fails_in_one_line(
        self, cli: Cli, tmp_path: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 2)
        where = tmp_path / "w"
        init_witness(cli, where)

        status, _, err = run_once(cli, server, where)

        assert status == 1
        assert err.strip().startswith("error: the cosignature was not delivered")
        assert len(err.strip().splitlines()) == 1

    def test_status_shows_the_cosigned_size_and_alarms(
        self, cli: Cli, tmp_path: Path, home_engine: Engine, server: Server
    ) -> None:
        append_and_publish(home_engine, 6)
        where = tmp_path / "w"
        register_witness(server, init_witness(cli, where))
        run_once(cli, server, where)

        result = cli("witness", "status", "--home", str(where), "--json")

        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert (report["size"], report["delivered"], report["alarms"]) == (6, True, [])

    def test_unreachable_log_is_one_error_line(self, cli: Cli, tmp_path: Path) -> None:
        where = tmp_path / "w"
        init_witness(cli, where)

        result = cli(
            "witness", "run", f"http://127.0.0.1:{free_port()}", "--home", str(where), "--once"
        )

        assert result.returncode == 1
        assert "cannot reach" in one_error_line(result)
