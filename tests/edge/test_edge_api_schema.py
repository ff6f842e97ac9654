"""schemathesis against the edge API's own OpenAPI over loopback, as an admin: no 5xx, responses
as documented."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from edge_api_kit import served_edge_api

from careedge_testkit.api_fuzz import fuzz_operations


def test_edge_api_conforms_to_its_schema(tmp_path: Path) -> None:
    with served_edge_api(tmp_path) as (url, tokens):
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        labels = fuzz_operations(schema, tokens["admin"])
    assert "POST /unbound/{reading_id}/assign" in labels
    assert "POST /kiosk/session" in labels
