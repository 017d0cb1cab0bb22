"""(being written) vault/staff_pages — see docs/consent-vault-plan.md."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
