"""HTML pages of the identity domain: sign-in/out for staff and persons, dashboard, portal."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
