"""Every route under /api/v1 refuses a request without credentials.

The test walks ``app.routes``, so an endpoint added by a later issue is covered the moment
it is mounted.  The only exceptions are listed in ``PUBLIC_API_ROUTES``, each on purpose;
adding one there is a decision to review, not a way to make this test pass.
"""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.e2e.api.test_shell import assert_problem

#: the only (method, route) pairs under /api/v1 that answer without credentials
PUBLIC_API_ROUTES = frozenset(
    {
        # the API's own description
        ("GET", "/api/v1/openapi.json"),
        # a transparency log is verified by anyone (web/ledger_api.py): its signed
        # checkpoint, key and proofs are public, and witnesses authenticate their
        # cosignatures and alarms by signature, not by API key
        ("GET", "/api/v1/ledger/checkpoint"),
        ("GET", "/api/v1/ledger/key"),
        ("GET", "/api/v1/ledger/get-proof-by-hash"),
        ("GET", "/api/v1/ledger/get-sth-consistency"),
        ("GET", "/api/v1/ledger/witnesses"),
        ("POST", "/api/v1/ledger/cosignatures"),
        ("POST", "/api/v1/ledger/alarms"),
    }
)
_PATH_PARAM = re.compile(r"\{[^}]+\}")


def route_templates(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route under /api/v1."""
    found: set[tuple[str, str]] = set()
    # routers are mounted lazily: ``iter_route_contexts`` yields each route with its prefix
    for route in iter_route_contexts(app.routes):
        template = route.path or ""
        if template.startswith("/api/v1/"):
            found.update((m, template) for m in route.methods or () if m != "HEAD")
    return found


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every non-public route under /api/v1."""
    return sorted(
        (method, _PATH_PARAM.sub(str(uuid.uuid4()), template))
        for method, template in route_templates(app) - PUBLIC_API_ROUTES
    )


class TestEveryApiRouteNeedsCredentials:
    def test_the_walk_finds_the_identity_routes(self, app: FastAPI) -> None:
        found = api_routes(app)
        assert ("GET", "/api/v1/me") in found
        assert any(m == "DELETE" and p.startswith("/api/v1/api-keys/") for m, p in found)
        assert not any(p == "/api/v1/openapi.json" for _, p in found)

    def test_every_public_exception_names_a_mounted_route(self, app: FastAPI) -> None:
        assert PUBLIC_API_ROUTES - route_templates(app) == set()

    def test_request_without_credentials_is_a_401_problem(
        self, app: FastAPI, client: TestClient
    ) -> None:
        failures: list[str] = []
        for method, path in api_routes(app):
            response = client.request(method, path)
            if response.status_code != 401 or not response.headers.get(
                "content-type", ""
            ).startswith("application/problem+json"):
                failures.append(f"{method} {path} -> {response.status_code}")
                continue
            assert_problem(response, 401, response.json()["code"])
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert failures == []
