"""schemathesis against the bridge API's own OpenAPI, as an admin: no 5xx, responses as documented."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from bridge_api_kit import bridge_api

from careedge_testkit.api_fuzz import fuzz_operations


def test_bridge_api_conforms_to_its_schema(tmp_path: Path) -> None:
    kit = bridge_api(tmp_path, max_failures=1000)
    try:
        labels = fuzz_operations(
            schemathesis.openapi.from_asgi("/openapi.json", kit.app), kit.tokens["admin"]
        )
    finally:
        kit.alerts.close()
    assert "POST /alerts/{alert_id}/acknowledge" in labels
    assert "GET /residents/status" in labels
