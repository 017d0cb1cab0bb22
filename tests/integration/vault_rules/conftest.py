"""Fixtures shared with the consent specification tests (two organizations)."""

from tests.integration.consent.conftest import orgs

__all__ = ["orgs"]
