"""The edge's HTTP app with its real kiosk station, outbox and audit log (no broker: nothing is
published while these tests run), guarded by a tokens file with one token per role."""

from __future__ import annotations

import asyncio
import queue
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from careedge_common.access.roles import Role
from careedge_common.api_server import make_api_server
from careedge_common.config import SiteConfig
from careedge_common.envelope import utc_now
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.servers import LOOPBACK, free_port
from careedge_testkit.tokens import issue_tokens
from edge.api import create_app
from edge.api_access import audit_requests, edge_guard
from edge.envelopes import EnvelopeFactory
from edge.kiosk_station import KioskStation
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox
from edge.residents import load_roster

AUTHORITY = "SUNRISE_CARE"
WANG_ID, LI_ID = "11010519450101234X", "CH000123"


@dataclass
class EdgeApi:
    app: FastAPI
    tokens: dict[Role, str]
    station: KioskStation


@contextmanager
def edge_api(tmp_path: Path, **limits: Any) -> Iterator[EdgeApi]:
    """Build, use and close it in one thread: the edge's SQLite connections are bound to theirs."""
    roster_file = tmp_path / "residents.csv"
    roster_file.write_text(f"resident_id,display_name\n{WANG_ID},Wang\n{LI_ID},Li\n", encoding="utf-8")
    tokens_file = tmp_path / "tokens.json"
    tokens = issue_tokens(tokens_file)
    config = SiteConfig.model_validate(
        {
            "site": {"id": "home-a"},
            "broker": {"insecure": True, "port": 1883},
            "gateway": {
                "id": "gw-1",
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": "/unused",
                "kiosk": {"residents_file": str(roster_file), "identifier_authority": AUTHORITY},
                "api": {"port": 9101, "access": {"tokens_file": str(tokens_file), **limits}},
            },
        }
    )
    assert config.gateway is not None
    pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
    db_path = tmp_path / "data" / "edge.db"
    metrics = EdgeMetrics()
    outbox = Outbox(db_path)
    roster = load_roster(roster_file, pseudonymiser, AUTHORITY)
    envelopes = EnvelopeFactory("home-a", "gw-1")
    station = KioskStation(config, db_path, outbox, envelopes, roster, pseudonymiser, metrics, lambda: None)
    guard = edge_guard(config.gateway.api.access, metrics)
    app = create_app(
        metrics,
        lambda: {"mqtt_connected": True},
        guard,
        audit_requests(station.audit, utc_now),
        station.routers,
    )
    try:
        yield EdgeApi(app, tokens, station)
    finally:
        station.close()
        outbox.close()


@contextmanager
def served_edge_api(tmp_path: Path) -> Iterator[tuple[str, dict[Role, str]]]:
    """The edge app on a real loopback port, built and served in its own thread (as in the daemon,
    one loop owns the SQLite connections); yields its base URL and the tokens."""
    port = free_port()
    ready: queue.Queue[dict[Role, str]] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        with edge_api(tmp_path, max_failures=1000) as kit:
            server = make_api_server(kit.app, LOOPBACK, port)
            task = asyncio.create_task(server.serve())
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
            ready.put(kit.tokens)
            await asyncio.to_thread(stop.wait)
            server.should_exit = True
            await task

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="edge-api")
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{port}", ready.get(timeout=20)
    finally:
        stop.set()
        thread.join(timeout=20)
