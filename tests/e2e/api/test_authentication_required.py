"""Every route under /api/v1 refuses a request without credentials.

The test walks ``app.routes``, so an endpoint added by a later issue is covered the moment
it is mounted; only the documentation routes below are public.
"""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.e2e.api.test_shell import assert_problem

#: the only routes under /api/v1 that answer without credentials
PUBLIC_API_PATHS = frozenset({"/api/v1/openapi.json"})
_PATH_PARAM = re.compile(r"\{[^}]+\}")


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every non-public route under /api/v1."""
    found: list[tuple[str, str]] = []
    # routers are mounted lazily: ``iter_route_contexts`` yields each route with its prefix
    for route in iter_route_contexts(app.routes):
        template = route.path or ""
        if not template.startswith("/api/v1/") or template in PUBLIC_API_PATHS:
            continue
        path = _PATH_PARAM.sub(str(uuid.uuid4()), template)
        found.extend((method, path) for method in sorted(route.methods or ()) if method != "HEAD")
    return found


class TestEveryApiRouteNeedsCredentials:
    def test_the_walk_finds_the_identity_routes(self, app: FastAPI) -> None:
        found = api_routes(app)
        assert ("GET", "/api/v1/me") in found
        assert any(m == "DELETE" and p.startswith("/api/v1/api-keys/") for m, p in found)
        assert not any(p == "/api/v1/openapi.json" for _, p in found)

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
