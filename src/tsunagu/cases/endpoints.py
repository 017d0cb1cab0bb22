"""JSON API of cases (/api/v1/cases…): projects, cases, comments, attachments, links."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
