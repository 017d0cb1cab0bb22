"""The anchor of ``http_get``: a bare FastAPI app with one trivial GET endpoint."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}
