"""The committed retailer × maker world of the collaborations API tests, reused here."""

from __future__ import annotations

from tests.e2e.linkage_api.conftest import world

__all__ = ["world"]
