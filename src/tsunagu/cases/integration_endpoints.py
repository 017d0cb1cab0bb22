"""JSON API of webhooks, their delivery log, and the caller's notification settings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
