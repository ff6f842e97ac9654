"""Role boundaries of the edge API: the kiosk reaches only its own session, staff routes need a
nurse or technician, every state-changing call lands in the audit log with its actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from edge_api_kit import WANG_ID, EdgeApi, edge_api

from careedge_common.config import ApiConfig
from careedge_testkit.tokens import bearer

STAFF_ONLY = ("/residents", "/unbound", "/audit")


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[tuple[EdgeApi, httpx.AsyncClient]]:
    with edge_api(tmp_path, max_failures=3, max_body_bytes=1024) as kit:
        transport = httpx.ASGITransport(app=kit.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            yield kit, http


async def test_a_kiosk_token_reaches_its_session_but_no_residents_list_or_unbound_readings(
    edge: tuple[EdgeApi, httpx.AsyncClient],
) -> None:
    kit, http = edge
    kiosk = bearer(kit.tokens["resident_kiosk"])
    started = await http.post("/kiosk/session", json={"code": WANG_ID}, headers=kiosk)
    assert started.status_code == 200
    assert started.json()["state"]["session"] is not None
    for path in STAFF_ONLY:
        assert (await http.get(path, headers=kiosk)).status_code == 403
    for role in ("nurse", "technician", "admin"):
        assert (await http.get("/unbound", headers=bearer(kit.tokens[role]))).status_code == 200  # type: ignore[index]


@pytest.mark.parametrize("role", ["pharmacist", "nurse", "technician"])
async def test_staff_tokens_cannot_drive_the_kiosk(
    edge: tuple[EdgeApi, httpx.AsyncClient], role: str
) -> None:
    kit, http = edge
    headers = bearer(kit.tokens[role])  # type: ignore[index]
    assert (await http.get("/kiosk/state", headers=headers)).status_code == 403
    assert (await http.post("/kiosk/session", json={"code": WANG_ID}, headers=headers)).status_code == 403


async def test_a_pharmacist_gets_no_staff_routes(edge: tuple[EdgeApi, httpx.AsyncClient]) -> None:
    kit, http = edge
    for path in STAFF_ONLY:
        assert (await http.get(path, headers=bearer(kit.tokens["pharmacist"]))).status_code == 403


async def test_without_a_token_only_health_metrics_and_the_bare_page_answer(
    edge: tuple[EdgeApi, httpx.AsyncClient],
) -> None:
    _, http = edge
    assert (await http.get("/health")).status_code == 200
    assert (await http.get("/metrics")).status_code == 200
    assert (await http.get("/kiosk")).status_code == 200
    assert (await http.get("/kiosk/state")).status_code == 401
    assert (await http.get("/unbound", headers=bearer("forged"))).status_code == 401
    assert (await http.post("/kiosk/logout")).status_code == 401
    assert (await http.get("/kiosk/state")).status_code == 429


async def test_state_changing_requests_are_audited_with_the_token_actor(
    edge: tuple[EdgeApi, httpx.AsyncClient],
) -> None:
    kit, http = edge
    kiosk = bearer(kit.tokens["resident_kiosk"])
    await http.post("/kiosk/session", json={"code": WANG_ID}, headers=kiosk)
    await http.post("/kiosk/logout", headers=kiosk)
    await http.post("/kiosk/logout", headers=bearer(kit.tokens["nurse"]))
    entries = (await http.get("/audit", headers=bearer(kit.tokens["nurse"]))).json()["entries"]
    requests = [(e["actor"], e["reason"]) for e in entries if e["event"] == "api_request"]
    assert requests == [
        ("nurse:nurse", "POST /kiosk/logout 403"),
        ("resident_kiosk:resident_kiosk", "POST /kiosk/logout 200"),
        ("resident_kiosk:resident_kiosk", "POST /kiosk/session 200"),
    ]
    assert WANG_ID not in str(entries)


async def test_oversized_bodies_are_refused_declared_or_streamed(
    edge: tuple[EdgeApi, httpx.AsyncClient],
) -> None:
    kit, http = edge
    kiosk = bearer(kit.tokens["resident_kiosk"])

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * 512

    declared = await http.post("/kiosk/session", content=b" " * 2048, headers=kiosk)
    streamed = await http.post("/kiosk/session", content=chunks(), headers=kiosk)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    state = (await http.get("/kiosk/state", headers=kiosk)).json()
    assert state["session"] is None


def test_apis_listen_on_localhost_unless_configured() -> None:
    assert ApiConfig(port=9101).host == "127.0.0.1"
    assert ApiConfig.model_validate({"port": 9101, "host": "0.0.0.0"}).host == "0.0.0.0"
