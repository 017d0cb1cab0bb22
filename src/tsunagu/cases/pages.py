"""Staff pages of cases (/cases…), Japanese and English."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
