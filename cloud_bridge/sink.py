"""Where points go: one small interface in front of the time-series store (DESIGN §5).

A sink either stores every point of a ``write`` call durably or raises ``SinkUnavailableError``;
the caller retries the same points later, which is safe because a point's key makes writes
idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from careedge_common.config import InfluxSink, SqliteSink
from cloud_bridge.points import VitalPoint


class SinkUnavailableError(Exception):
    """A transient failure (server down, slow, refusing): nothing may be assumed stored."""


class PointSink(Protocol):
    def write(self, points: Sequence[VitalPoint]) -> None:
        """Store all ``points`` before returning; raise ``SinkUnavailableError`` otherwise."""

    def close(self) -> None: ...


def open_sink(config: InfluxSink | SqliteSink) -> PointSink:
    """Raises ``SecretError`` when the InfluxDB token named by the config cannot be read."""
    if isinstance(config, InfluxSink):
        from cloud_bridge.influx_sink import InfluxPointSink

        return InfluxPointSink(config)
    from cloud_bridge.sqlite_sink import SqlitePointSink

    return SqlitePointSink(config.path)
