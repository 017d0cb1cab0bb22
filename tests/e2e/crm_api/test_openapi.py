"""The pipeline's endpoints are described in the OpenAPI document, behind the bearer key."""

from __future__ import annotations

from fastapi.testclient import TestClient

PATHS = {
    "/api/v1/crm/metrics": {"get"},
    "/api/v1/crm/entities": {"get", "post"},
    "/api/v1/crm/entities/{entity_id}": {"get", "patch"},
    "/api/v1/crm/entities/{entity_id}/transitions": {"post"},
    "/api/v1/crm/transitions": {"get"},
    "/api/v1/crm/transitions.csv": {"get"},
    "/api/v1/crm/transitions/import": {"post"},
    "/api/v1/crm/stages": {"get", "put"},
    "/api/v1/crm/targets": {"get", "put"},
}


class TestOpenApi:
    def test_lists_every_pipeline_endpoint_with_bearer_security(self, client: TestClient) -> None:
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        for path, methods in PATHS.items():
            assert methods <= set(paths[path]), path
            for method in methods:
                assert paths[path][method]["security"] == [{"HTTPBearer": []}], (path, method)
