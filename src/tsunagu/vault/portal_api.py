"""(being written) the person's JSON API — see docs/vault.md."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
