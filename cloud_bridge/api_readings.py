"""``GET /residents/{subject}/readings`` and ``GET /gateways``: what the bridge's relational store
holds about residents' readings (within the retention window) and about gateways and devices.

``GET /residents/{subject}/readings?code=&since=&until=&limit=`` → ``{"subject", "readings":
[{id, code, name, value, unit, measured_at}]}`` oldest first; ``code`` may be repeated; times are
RFC 3339 with an offset, inclusive; ``limit`` keeps the newest rows. Readings older than
``alerts.rules.readings_retention_days`` are pruned and so are not served.
``GET /gateways`` → ``{"gateways": [{gateway, online, state_since, last_seen, devices: [{device,
last_seen, last_envelope_id, listed_status}]}]}``; ``online`` is null for a gateway not yet heard
on its state topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from careedge_common.envelope import rfc3339
from cloud_bridge import device_seen
from cloud_bridge.reading_queries import ReadingFilter, StoredReading, find_readings
from cloud_bridge.store import BridgeStore

DEFAULT_READINGS_LIMIT = 1000
MAX_READINGS_LIMIT = 10_000
SUBJECT_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

Since = Annotated[datetime | None, Query(description="RFC 3339 with an offset; inclusive")]


def aware(name: str, moment: datetime | None) -> datetime | None:
    """Naive times are refused: the store is in UTC and a nurse's local time is not a guess."""
    if moment is not None and moment.tzinfo is None:
        raise HTTPException(422, f"{name}: an RFC 3339 time with an offset (e.g. 2025-01-01T00:00:00Z)")
    return moment


def reading_document(reading: StoredReading) -> dict[str, Any]:
    return {
        "id": reading.reading_id,
        "code": reading.code,
        "name": reading.name,
        "value": reading.value,
        "unit": reading.unit,
        "measured_at": rfc3339(reading.measured_at),
    }


def readings_router(store: BridgeStore) -> APIRouter:
    router = APIRouter()

    @router.get("/residents/{subject}/readings")
    def resident_readings(
        subject: Annotated[str, Path(pattern=SUBJECT_PATTERN)],
        code: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI copies defaults
        since: Since = None,
        until: Since = None,
        limit: Annotated[int, Query(ge=1, le=MAX_READINGS_LIMIT)] = DEFAULT_READINGS_LIMIT,
    ) -> dict[str, Any]:
        where = ReadingFilter(subject, tuple(code), aware("since", since), aware("until", until), limit)
        with store.reading() as db:
            found = find_readings(db, where)
        return {"subject": subject, "readings": [reading_document(reading) for reading in found]}

    @router.get("/gateways")
    def list_gateways() -> dict[str, list[dict[str, Any]]]:
        with store.reading() as db:
            seen = device_seen.gateways(db)
        return {"gateways": [_gateway(gateway) for gateway in seen]}

    return router


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)


def _gateway(gateway: device_seen.GatewaySeen) -> dict[str, Any]:
    return {
        "gateway": gateway.gateway,
        "online": gateway.online,
        "state_since": _time(gateway.state_since),
        "last_seen": _time(gateway.last_seen),
        "devices": [
            {
                "device": device.device,
                "last_seen": _time(device.last_seen),
                "last_envelope_id": device.last_envelope_id,
                "listed_status": device.listed_status,
            }
            for device in gateway.devices
        ],
    }
