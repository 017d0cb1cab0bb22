"""JSON API of KPT retrospective boards."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
