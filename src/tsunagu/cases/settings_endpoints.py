"""JSON API of project settings: members, statuses, types, categories, milestones, fields."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
