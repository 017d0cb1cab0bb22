"""Staff pages of webhooks (per project, with their delivery log) and of one's own
notification settings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
