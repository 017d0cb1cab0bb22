"""Bulk import endpoints of the identity domain."""

from fastapi import APIRouter

router = APIRouter(tags=["import"])
