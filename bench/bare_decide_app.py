"""The anchor of ``consent_http``: a bare FastAPI app answering the decide POST with a constant.

The same route and the same request body as ``POST /api/v1/consent/decide`` (parsed into a
pydantic model, as the real endpoint does), no authentication, no database, no ledger.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class DecideIn(BaseModel):
    person: uuid.UUID
    purpose: str
    categories: list[str]


@app.post("/api/v1/consent/decide")
def decide(body: DecideIn) -> dict[str, object]:
    del body
    return {"allow": True, "consents": [], "reason": "consent_covers"}
