"""Who may call which ledger route: the public ones answer without credentials, every
other one refuses a request without an API key — checked by walking the mounted routes,
so a route added later is covered at once."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.ledger_api.conftest import LEDGER, assert_problem, fill
from tsunagu.web.ledger_api import PUBLIC_ROUTES


def ledger_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path or "")
        for route in iter_route_contexts(app.routes)
        if (route.path or "").startswith(LEDGER + "/")
        for method in route.methods or ()
        if method != "HEAD"
    }


class TestLedgerRouteAccess:
    def test_public_routes_are_all_mounted(self, app: FastAPI) -> None:
        assert ledger_routes(app) >= PUBLIC_ROUTES

    def test_other_routes_refuse_a_request_without_a_key(
        self, app: FastAPI, client: TestClient, db: Session
    ) -> None:
        fill(db, 1)
        private = sorted(ledger_routes(app) - PUBLIC_ROUTES)
        assert private, "the walk found no private ledger route"
        for method, path in private:
            response = client.request(method, path, params={"start": 0, "end": 0})
            assert_problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer")

    def test_public_reads_answer_without_a_key(self, client: TestClient, db: Session) -> None:
        fill(db, 2)
        for path in ("checkpoint", "key", "witnesses"):
            assert client.get(f"{LEDGER}/{path}").status_code == 200
        consistency = client.get(f"{LEDGER}/get-sth-consistency?first=1&second=2")
        assert consistency.status_code == 200
