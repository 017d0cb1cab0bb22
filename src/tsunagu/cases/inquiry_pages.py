"""The public inquiry form of a project (no sign-in) and the inquirer's follow-up page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
