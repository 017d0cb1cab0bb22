"""Structural enforcement: payloads are reached through ``vault.service`` and a decision
the policy point minted and recorded — checked on the source tree and on the services."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import tsunagu
from tests.integration.consent.conftest import Orgs, new_person
from tsunagu.consent import decision as pdp
from tsunagu.consent.errors import ConsentRequired
from tsunagu.core.clock import utcnow
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

SRC = Path(tsunagu.__file__).parent
PRIVATE = ("tsunagu.vault.models", "tsunagu.vault.keystore", "tsunagu.vault.crypto")
#: the one import of the vault's models outside it the import contract allows
ALLOWED_IMPORTS = {("migrations/metadata.py", "tsunagu.vault.models")}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SRC.rglob("*.py"))
    ]


def _calls(tree: ast.Module, name: str) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            count += called == name
    return count


def _defines(tree: ast.Module, name: str) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def _imports(relative: str, tree: ast.Module) -> set[str]:
    package = "tsunagu." + relative.removesuffix(".py").replace("/", ".")
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


class TestSourceTree:
    def test_open_sealed_is_called_only_in_the_vault_service(self) -> None:
        callers = {path for path, tree in _modules() if _calls(tree, "open_sealed")}
        assert callers == {"vault/service.py"}

    def test_seal_is_called_only_in_the_vault_service(self) -> None:
        callers = {path for path, tree in _modules() if _calls(tree, "seal")}
        assert callers == {"vault/service.py"}

    @pytest.mark.parametrize("door", ["subject_view", "export_archive", "erase_person"])
    def test_the_persons_own_door_is_used_only_by_the_persons_adapters(self, door: str) -> None:
        # the person's own access opens payloads without a decision: only the portal's
        # pages and the person's API — both behind the person's own session — may call it
        callers = {path for path, tree in _modules() if _calls(tree, door)}
        assert callers <= {"vault/service.py", "vault/portal_pages.py", "vault/portal_api.py"}

    def test_crypto_defines_seal_and_open_sealed(self) -> None:
        crypto = dict(_modules())["vault/crypto.py"]
        assert _defines(crypto, "seal")
        assert _defines(crypto, "open_sealed")

    def test_nothing_outside_the_vault_imports_its_private_modules(self) -> None:
        offenders = {
            (path, private)
            for path, tree in _modules()
            if not path.startswith("vault/")
            for name in _imports(path, tree)
            for private in PRIVATE
            if name == private or name.startswith(private + ".")
        }
        assert offenders <= ALLOWED_IMPORTS

    def test_the_import_walker_sees_the_vault_services_own_imports(self) -> None:
        service = dict(_modules())["vault/service.py"]
        assert set(PRIVATE) <= _imports("vault/service.py", service)


def _forged(orgs: Orgs, person_id: uuid.UUID, *, ledger_index: int | None) -> pdp.Decision:
    return pdp.Decision(
        allow=True,
        reason="consent_covers",
        consent_ids=(),
        organization_id=orgs.home.id,
        organization_slug=orgs.home.slug,
        person_id=person_id,
        purpose="marketing",
        categories=("contact",),
        at=utcnow(),
        actor="api_key:forger",
        ledger_index=ledger_index,
    )


class TestForgedDecisions:
    def test_require_recorded_refuses_a_hand_built_decision(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        person = new_person(db, vault, orgs.home)
        with pytest.raises(ConsentRequired):
            pdp.require_recorded(_forged(orgs, person.id, ledger_index=0))

    def test_record_refuses_a_hand_built_decision(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        person = new_person(db, vault, orgs.home)
        with pytest.raises(ConsentRequired):
            pdp.record(db, vault.pseudonym_key, _forged(orgs, person.id, ledger_index=None))

    def test_require_recorded_refuses_a_minted_decision_not_yet_recorded(
        self, db: Session, vault: Vault, orgs: Orgs
    ) -> None:
        person = new_person(db, vault, orgs.home)
        vault_service.create_record(
            db,
            vault,
            person_id=person.id,
            category="contact.phone",
            payload={"phone": "03-0000-0000"},
            source=orgs.home,
            source_kind="api",
            actor="api_key:test",
        )
        unrecorded = pdp.evaluate(
            db, orgs.reader("home"), person.id, "marketing", ["contact"], actor="api_key:test"
        )
        with pytest.raises(ConsentRequired):
            pdp.require_recorded(unrecorded)


class TestDeniedRead:
    def test_returns_no_records(self, db: Session, vault: Vault, orgs: Orgs) -> None:
        person = new_person(db, vault, orgs.home)
        vault_service.create_record(
            db,
            vault,
            person_id=person.id,
            category="contact.phone",
            payload={"phone": "03-0000-0000"},
            source=orgs.home,
            source_kind="api",
            actor="api_key:test",
        )
        result = vault_service.read_records(
            db,
            vault,
            orgs.reader("home"),
            person.id,
            purpose="marketing",
            categories=["contact.phone"],
            actor="api_key:test",
        )
        assert not result.decision.allow
        assert result.records == []
