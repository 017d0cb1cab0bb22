"""Staff pages of a project's settings: members, statuses, types, categories, milestones,
custom fields and the inquiry form."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
