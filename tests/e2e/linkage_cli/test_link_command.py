"""``tsunagu linkage link LEFT.csv RIGHT.csv --out PAIRS.csv``: the contract scripts rely on
(output header, encodings, one-to-one, report) and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tsunagu.cli import run
from tsunagu.linkage.synthetic import make_pair, write_csv

TSUNAGU = Path(sys.executable).parent / "tsunagu"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("linkage")
    left, right, _ = make_pair(200, 200, 120, seed=11, variant_rate=0.3)
    write_csv(left, folder / "left.csv", encoding="utf-8-sig")
    write_csv(right, folder / "right.csv", encoding="cp932")
    return folder, folder / "left.csv", folder / "right.csv"


def read_pairs(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


class TestLink:
    def test_writes_the_contract_header_and_pairs(
        self, files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder, left, right = files
        out = folder / "pairs.csv"
        assert run(["linkage", "link", str(left), str(right), "--out", str(out)]) == 0
        rows = read_pairs(out)
        assert rows[0] == ["left_id", "right_id", "match_probability"]
        assert len(rows) > 100
        assert "linked" in capsys.readouterr().err

    def test_pairs_are_one_to_one_by_default(self, files: tuple[Path, Path, Path]) -> None:
        folder, left, right = files
        out = folder / "one.csv"
        run(["linkage", "link", str(left), str(right), "--out", str(out)])
        rows = read_pairs(out)[1:]
        assert len({r[0] for r in rows}) == len({r[1] for r in rows}) == len(rows)

    def test_threshold_option_bounds_the_probabilities(
        self, files: tuple[Path, Path, Path]
    ) -> None:
        folder, left, right = files
        out = folder / "strict.csv"
        args = ["linkage", "link", str(left), str(right), "--out", str(out)]
        assert run([*args, "--threshold", "0.999"]) == 0
        assert all(float(r[2]) >= 0.999 for r in read_pairs(out)[1:])

    def test_all_candidates_lists_at_least_the_one_to_one_pairs(
        self, files: tuple[Path, Path, Path]
    ) -> None:
        folder, left, right = files
        one, every = folder / "a.csv", folder / "b.csv"
        base = ["linkage", "link", str(left), str(right), "--threshold", "0.2"]
        run([*base, "--out", str(one)])
        run([*base, "--out", str(every), "--all-candidates"])
        assert {tuple(r[:2]) for r in read_pairs(one)} <= {tuple(r[:2]) for r in read_pairs(every)}

    def test_report_holds_the_estimates_and_borderline_pairs(
        self, files: tuple[Path, Path, Path]
    ) -> None:
        folder, left, right = files
        out, report = folder / "r.csv", folder / "report.json"
        run(["linkage", "link", str(left), str(right), "--out", str(out), "--report", str(report)])
        data = json.loads(report.read_text(encoding="utf-8"))
        assert {"threshold", "by_threshold", "parameters", "borderline", "estimate"} <= set(data)


class TestErrors:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (None, "no such file"),
            (b"", "empty"),
            (b"family_name,email\nA,a@x.jp\n", "no 'id' column"),
            (b"id,email\nL1,a@x.jp\nL1,b@x.jp\n", "ids must be unique"),
            (b"id,family_name\nL1,\x81\xff\n", "could not read"),
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV"),
        ],
        ids=["missing", "empty", "no-id", "duplicate-ids", "undecodable", "not-csv"],
    )
    def test_an_unusable_file_is_one_line_and_exit_status_2(
        self,
        files: tuple[Path, Path, Path],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        content: bytes | None,
        message: str,
    ) -> None:
        _, left, _ = files
        bad = tmp_path / "bad.csv"
        if content is not None:
            bad.write_bytes(content)
        status = run(["linkage", "link", str(left), str(bad), "--out", str(tmp_path / "o.csv")])
        err = capsys.readouterr().err
        assert status == 2
        assert err.startswith("error: ")
        assert message in err
        assert err.count("\n") == 1

    def test_the_console_script_prints_no_traceback(self, tmp_path: Path) -> None:
        bad = tmp_path / "dup.csv"
        bad.write_bytes(b"id\nA\nA\n")
        done = subprocess.run(
            [str(TSUNAGU), "linkage", "link", str(bad), str(bad), "--out", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().startswith("error: ")
