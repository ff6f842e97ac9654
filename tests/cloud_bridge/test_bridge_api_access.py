"""Role boundaries of the bridge API: nurses read and act on alerts, nobody else but an admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from bridge_api_kit import BridgeApi, bridge_api

from careedge_testkit.tokens import bearer


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[BridgeApi, httpx.AsyncClient]]:
    kit = bridge_api(tmp_path, max_failures=3, max_body_bytes=1024)
    transport = httpx.ASGITransport(app=kit.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as http:
            yield kit, http
    finally:
        kit.alerts.close()


async def test_a_pharmacist_cannot_acknowledge_an_alert_a_nurse_can(
    api: tuple[BridgeApi, httpx.AsyncClient],
) -> None:
    kit, http = api
    path = f"/alerts/{kit.alert_id}/acknowledge"
    refused = await http.post(path, headers=bearer(kit.tokens["pharmacist"]))
    assert refused.status_code == 403
    assert kit.alerts.open()[0].state == "raised"
    done = await http.post(path, headers=bearer(kit.tokens["nurse"]))
    assert done.status_code == 200
    assert done.json()["alert"]["state"] == "acknowledged"
    steps = (await http.get(f"/alerts/{kit.alert_id}", headers=bearer(kit.tokens["nurse"]))).json()
    assert steps["transitions"][-1]["actor"] == "nurse"


@pytest.mark.parametrize("role", ["resident_kiosk", "pharmacist", "technician"])
async def test_only_nurses_and_admins_read_alerts_and_status(
    api: tuple[BridgeApi, httpx.AsyncClient], role: str
) -> None:
    kit, http = api
    for path in ("/alerts", f"/alerts/{kit.alert_id}", "/residents/status"):
        assert (await http.get(path, headers=bearer(kit.tokens[role]))).status_code == 403  # type: ignore[index]
        assert (await http.get(path, headers=bearer(kit.tokens["nurse"]))).status_code == 200
        assert (await http.get(path, headers=bearer(kit.tokens["admin"]))).status_code == 200


async def test_missing_or_unknown_token_is_401_and_health_stays_open(
    api: tuple[BridgeApi, httpx.AsyncClient],
) -> None:
    kit, http = api
    missing = await http.get("/alerts")
    unknown = await http.post(f"/alerts/{kit.alert_id}/resolve", headers=bearer("not-a-token"))
    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert kit.alerts.open()[0].state == "raised"
    assert (await http.get("/health")).status_code == 200
    assert (await http.get("/metrics")).status_code == 200


async def test_repeated_token_failures_get_429_even_with_a_good_token_then(
    api: tuple[BridgeApi, httpx.AsyncClient],
) -> None:
    kit, http = api
    statuses = [(await http.get("/alerts", headers=bearer(f"guess-{n}"))).status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    limited = await http.get("/alerts", headers=bearer(kit.tokens["nurse"]))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    metrics = (await http.get("/metrics")).text
    assert 'careedge_api_refused_total{reason="rate_limited"} 1.0' in metrics


async def test_an_oversized_body_is_refused_before_the_handler(
    api: tuple[BridgeApi, httpx.AsyncClient],
) -> None:
    kit, http = api
    path = f"/alerts/{kit.alert_id}/acknowledge"
    refused = await http.post(path, headers=bearer(kit.tokens["nurse"]), content=b"x" * 2048)
    assert refused.status_code == 413
    assert kit.alerts.open()[0].state == "raised"
