"""Synthetic files are read back by ``tsunagu linkage link``'s reader in every encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.linkage.files import read_people_csv
from tsunagu.linkage.synthetic import make_pair, write_csv


class TestSyntheticFilesReadBack:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
    def test_every_value_survives_writing_and_reading(self, tmp_path: Path, encoding: str) -> None:
        left, _, _ = make_pair(800, 10, 0, seed=31, variant_rate=1.0)
        path = tmp_path / f"left-{encoding}.csv"
        write_csv(left, path, encoding=encoding)
        expected = [{key: value.strip() or None for key, value in row.items()} for row in left]
        assert read_people_csv(path).to_pylist() == expected
