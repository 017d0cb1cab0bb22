"""(being written) consent/endpoints — see docs/consent-vault-plan.md."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
