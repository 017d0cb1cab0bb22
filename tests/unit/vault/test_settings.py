"""The vault's settings: master keys and the key store's URL."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from tsunagu.core.settings import Settings


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


class TestVaultMasterKeys:
    def test_come_from_the_environment_in_order(self, tmp_path: Path) -> None:
        k2, k1 = secrets.token_bytes(32), secrets.token_bytes(32)
        settings = Settings(home=tmp_path, vault_master_keys=f"k2:{_b64(k2)}, k1:{_b64(k1)}")
        assert settings.resolved_vault_master_keys() == [("k2", k2), ("k1", k1)]

    def test_else_one_key_is_made_once_in_a_private_file(self, tmp_path: Path) -> None:
        first = Settings(home=tmp_path).resolved_vault_master_keys()
        again = Settings(home=tmp_path).resolved_vault_master_keys()
        assert first == again
        assert [key_id for key_id, _key in first] == ["k1"]
        assert (tmp_path / "vault_master_keys").stat().st_mode & 0o777 == 0o600

    def test_a_key_that_is_not_base64_is_refused(self, tmp_path: Path) -> None:
        settings = Settings(home=tmp_path, vault_master_keys="k1:not base64!")
        with pytest.raises(ValueError, match="base64"):
            settings.resolved_vault_master_keys()

    def test_a_key_of_the_wrong_length_is_refused(self, tmp_path: Path) -> None:
        settings = Settings(home=tmp_path, vault_master_keys=f"k1:{_b64(b'short')}")
        with pytest.raises(ValueError, match="32 bytes"):
            settings.resolved_vault_master_keys()

    def test_a_key_without_id_is_refused(self, tmp_path: Path) -> None:
        settings = Settings(home=tmp_path, vault_master_keys=_b64(secrets.token_bytes(32)))
        with pytest.raises(ValueError, match="id:base64"):
            settings.resolved_vault_master_keys()


class TestVaultKeystoreUrl:
    def test_defaults_to_a_sqlite_file_in_home(self, tmp_path: Path) -> None:
        url = Settings(home=tmp_path).resolved_vault_keystore_url()
        assert url == f"sqlite:///{(tmp_path / 'keys.db').resolve()}"

    def test_a_postgresql_url_gets_the_psycopg_driver(self, tmp_path: Path) -> None:
        settings = Settings(home=tmp_path, vault_keystore_url="postgresql://u@db/keys")
        assert settings.resolved_vault_keystore_url() == "postgresql+psycopg://u@db/keys"
