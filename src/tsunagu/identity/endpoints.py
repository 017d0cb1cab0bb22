"""JSON API of the identity domain (thin: parse, call the service, shape the answer)."""

from fastapi import APIRouter

router = APIRouter(tags=["identity"])
