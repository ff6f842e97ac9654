"""Fixtures shared by every test folder: real servers, each started for one test and stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careedge_testkit.servers import Mosquitto, VictoriaMetrics


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    with Mosquitto() as broker:
        yield broker


@pytest.fixture
def victoria() -> Iterator[VictoriaMetrics]:
    with VictoriaMetrics() as server:
        yield server
