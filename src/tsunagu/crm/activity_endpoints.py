"""JSON API of activities and handoff ratings (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["crm"])
