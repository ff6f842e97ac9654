"""A provisioned site and Mosquitto running on its output, one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from provision_kit import provision_site, tls_mosquitto

from careedge.provision.store import ProvisionStore
from careedge_testkit.servers import Mosquitto


@pytest.fixture
def site(tmp_path: Path) -> ProvisionStore:
    return provision_site(tmp_path / "provisioning")


@pytest.fixture
def tls_broker(site: ProvisionStore) -> Iterator[Mosquitto]:
    with tls_mosquitto(site) as broker:
        yield broker
