"""When the bridge last heard from each gateway and device, for ``GET /gateways``.

Two sources: the gateways' retained state documents (online/offline and the devices they list,
already kept in ``gateway_status`` for the offline rule) and the envelopes the bridge stored. A
device's ``last_seen`` is the newest ``received_at`` (the gateway's clock when the reading reached
it) of its stored envelopes, so a replayed old envelope never moves it back. Written inside the
batch's transaction, like everything else the bridge keeps about a batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from careedge_common.envelope import Envelope
from careedge_common.epoch import epoch_ms
from cloud_bridge.alert_store import from_ms
from cloud_bridge.events import GatewayState

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices_seen (
    gateway TEXT NOT NULL,
    device TEXT NOT NULL,
    last_seen_ms INTEGER,
    last_envelope_id TEXT,
    listed_status TEXT,
    PRIMARY KEY (gateway, device)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    device: str
    last_seen: datetime | None
    """None for a device known only from its gateway's state document."""
    last_envelope_id: str | None
    listed_status: str | None
    """``online``/``offline`` as the gateway's newest state document listed it, if it did."""


@dataclass(frozen=True, slots=True)
class GatewaySeen:
    gateway: str
    online: bool | None
    """None when no state document was received yet."""
    state_since: datetime | None
    """When the gateway's state last changed."""
    last_seen: datetime | None
    """The newest of its devices' ``last_seen``."""
    devices: list[DeviceSeen] = field(default_factory=list)


def record_envelopes(db: sqlite3.Connection, envelopes: Iterable[Envelope]) -> None:
    """One upsert per device, not per envelope: a batch holds many envelopes of each device and
    only the newest can move its ``last_seen`` (of equal times, the first, as the upsert keeps)."""
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    for envelope in envelopes:
        key = (envelope.gateway, envelope.device)
        seen_ms = epoch_ms(envelope.received_at)
        kept = newest.get(key)
        if kept is None or seen_ms > kept[0]:
            newest[key] = (seen_ms, envelope.id)
    db.executemany(
        "INSERT INTO devices_seen (gateway, device, last_seen_ms, last_envelope_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (gateway, device) DO UPDATE SET last_seen_ms = excluded.last_seen_ms,"
        " last_envelope_id = excluded.last_envelope_id"
        " WHERE devices_seen.last_seen_ms IS NULL OR excluded.last_seen_ms > devices_seen.last_seen_ms",
        ((gateway, device, *seen) for (gateway, device), seen in newest.items()),
    )


def record_state(db: sqlite3.Connection, state: GatewayState) -> None:
    """The devices an online state document lists, with the status it gives them."""
    db.executemany(
        "INSERT INTO devices_seen (gateway, device, listed_status) VALUES (?, ?, ?)"
        " ON CONFLICT (gateway, device) DO UPDATE SET listed_status = excluded.listed_status",
        (
            (state.gateway, device, "offline" if device in state.offline_devices else "online")
            for device in state.listed_devices
        ),
    )


def gateways(db: sqlite3.Connection) -> list[GatewaySeen]:
    """Every gateway known from a state document or an envelope, by ID; devices by ID."""
    states = {
        gateway: (bool(online), from_ms(since_ms))
        for gateway, online, since_ms in db.execute("SELECT gateway, online, since_ms FROM gateway_status")
    }
    devices: dict[str, list[DeviceSeen]] = {gateway: [] for gateway in states}
    rows = db.execute(
        "SELECT gateway, device, last_seen_ms, last_envelope_id, listed_status FROM devices_seen"
        " ORDER BY gateway, device"
    )
    for gateway, device, last_seen_ms, envelope_id, listed in rows:
        seen = None if last_seen_ms is None else from_ms(last_seen_ms)
        devices.setdefault(gateway, []).append(DeviceSeen(device, seen, envelope_id, listed))
    result = []
    for gateway in sorted(devices):
        online, since = states.get(gateway, (None, None))
        times = [device.last_seen for device in devices[gateway] if device.last_seen is not None]
        result.append(GatewaySeen(gateway, online, since, max(times, default=None), devices[gateway]))
    return result
