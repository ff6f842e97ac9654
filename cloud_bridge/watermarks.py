"""Tell gateways how far their messages are stored, and ask for what is missing (DESIGN §4).

A broker acknowledges a message before it is on disk (Mosquitto saves at its autosave interval),
so a broker killed at the wrong moment loses messages the gateway already counts as delivered.
The bridges therefore publish each gateway's watermark (retained, ``{boot, seq, at}``) so the
gateway knows what it may forget and what it should send again, and when a ``seq`` stays missing
while later ones are stored, they send ``cmd/replay`` (``{command_id, boot, from_seq, to_seq}``).

``tick`` runs on the bridge's writer thread between batches; the state lives in the relational
store (``seq_tracking``), so any bridge of a shared subscription can do the work, and a claim in
the store makes sure only one of them publishes each watermark or request.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter

from careedge_common import topics
from careedge_common.config_delivery import DeliveryCheck
from careedge_common.delivery_messages import ReplayCommand, WatermarkMessage, compact_json
from careedge_common.envelope import new_event_id
from cloud_bridge.alert_store import offline_gateways
from cloud_bridge.points import epoch_ms
from cloud_bridge.seq_tracking import Gap, Watermark, claim_gaps, claim_watermarks, give_up_gap

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]
Publish = Callable[[str, bytes, bool], None]
"""``publish(topic, payload, retain)`` at QoS 1."""


class DeliveryCheckMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.watermarks = Counter(
            "careedge_bridge_watermarks_published", "Gateway watermarks published", registry=registry
        )
        self.replays = Counter(
            "careedge_bridge_replays_requested", "cmd/replay requests sent to gateways", registry=registry
        )
        self.gaps_given_up = Counter(
            "careedge_bridge_seq_gaps_given_up",
            "Gaps in a gateway's seq given up after every replay request went unanswered",
            registry=registry,
        )


class WatermarkKeeper:
    def __init__(
        self,
        site: str,
        settings: DeliveryCheck,
        transaction: Transaction,
        publish: Publish,
        metrics: DeliveryCheckMetrics,
    ) -> None:
        self._site = site
        self._settings = settings
        self._transaction = transaction
        self._publish = publish
        self._metrics = metrics

    def tick(self, now: datetime) -> None:
        """Publish advanced watermarks and replay requests that are due; raises ``sqlite3.Error``
        with nothing claimed."""
        settings = self._settings
        now_ms = epoch_ms(now)
        with self._transaction() as db:
            watermarks = claim_watermarks(
                db,
                self._site,
                now_ms,
                int(settings.watermark_interval_s * 1000),
                int(settings.watermark_refresh_s * 1000),
            )
            gaps = claim_gaps(
                db,
                self._site,
                now_ms,
                int(settings.gap_grace_s * 1000),
                int(settings.replay_retry_s * 1000),
                unreachable=offline_gateways(db),
            )
            given_up = [gap for gap in gaps if gap.attempt > settings.replay_attempts]
            for gap in given_up:
                give_up_gap(db, self._site, gap.gateway, now_ms)
        for watermark in watermarks:
            self._publish_watermark(watermark, now)
        for gap in gaps:
            if gap in given_up:
                self._metrics.gaps_given_up.inc()
                log.warning(
                    "gateway %s: seq %d-%d never arrived after %d replay requests; given up",
                    gap.gateway,
                    gap.first,
                    gap.last,
                    settings.replay_attempts,
                )
            else:
                self._request_replay(gap)

    def _publish_watermark(self, watermark: Watermark, now: datetime) -> None:
        message = WatermarkMessage(boot=watermark.boot, seq=watermark.seq, at=now)
        self._publish(topics.watermark(self._site, watermark.gateway), compact_json(message), True)
        self._metrics.watermarks.inc()

    def _request_replay(self, gap: Gap) -> None:
        command = ReplayCommand(
            command_id=new_event_id().lower(), boot=gap.boot, from_seq=gap.first, to_seq=gap.last
        )
        self._publish(topics.cmd(self._site, gap.gateway, "replay"), compact_json(command), False)
        self._metrics.replays.inc()
        log.info(
            "gateway %s: asked to replay seq %d-%d (attempt %d)",
            gap.gateway,
            gap.first,
            gap.last,
            gap.attempt,
        )
