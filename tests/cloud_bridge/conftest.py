"""Fixtures of the bridge tests; servers come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloud_bridge_kit import TestClient

from careedge_testkit.servers import Mosquitto, VictoriaMetrics


class IdempotentVictoriaMetrics(VictoriaMetrics):
    """VictoriaMetrics keeps duplicate samples unless told to deduplicate; with this flag a point
    key (series, timestamp) is stored once, like InfluxDB. Needed where a write that timed out
    (server paused) may still be applied when the server resumes, before the bridge's retry."""

    def _command(self) -> list[str]:
        return [*super()._command(), "-dedup.minScrapeInterval=1ms"]


@pytest.fixture
def idempotent_victoria() -> Iterator[VictoriaMetrics]:
    with IdempotentVictoriaMetrics() as server:
        yield server


@pytest.fixture
def gateway(mosquitto: Mosquitto) -> Iterator[TestClient]:
    client = TestClient(mosquitto)
    yield client
    client.close()
