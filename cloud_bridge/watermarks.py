"""Tell gateways how far their messages are stored, and ask for what is missing (DESIGN §4).

A broker acknowledges a message before it is on disk (Mosquitto saves at its autosave interval),
so a broker killed at the wrong moment loses messages the gateway already counts as delivered.
The bridges therefore publish each gateway's watermark (retained, ``{boot, seq, at}``) so the
gateway knows what it may forget and what it should send again, and when a ``seq`` stays missing
while later ones are stored, they send ``cmd/replay`` (``{command_id, boot, from_seq, to_seq}``).
A gap is given up only on the gateway's word (``replay_requests``): its answer says it no longer
holds the range, or it has replayed the range ``replay_attempts`` times and it still is not stored.

``tick`` runs on the bridge's writer thread between batches; the state lives in the relational
store (``seq_tracking``), so any bridge of a shared subscription can do the work, and a claim in
the store makes sure only one of them publishes each watermark or request.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from careedge_common import topics
from careedge_common.config_delivery import DeliveryCheck
from careedge_common.delivery_messages import ReplayCommand, ReplayResult, WatermarkMessage, compact_json
from careedge_common.envelope import new_event_id
from careedge_common.epoch import epoch_ms
from cloud_bridge import replay_requests
from cloud_bridge.replay_requests import ReplayRequest
from cloud_bridge.seq_tracking import Gap, Watermark, claim_gaps, claim_watermarks, give_up_range

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
            "Gaps in a gateway's seq given up: no longer held by the gateway, or replayed and never stored",
            registry=registry,
        )
        self.bad_answers = Counter(
            "careedge_bridge_replay_answers_rejected",
            "Answers to replay requests that were not a valid replay result",
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
            replay_requests.forget_settled(db, now_ms)
            gaps = claim_gaps(
                db,
                self._site,
                now_ms,
                int(settings.gap_grace_s * 1000),
                int(settings.replay_retry_s * 1000),
            )
            given_up = [gap for gap in gaps if gap.lowest and self._replayed_enough(db, gap)]
            for gap in given_up:
                give_up_range(db, self._site, gap.gateway, gap.first, gap.last, now_ms)
            requests = {
                gap: ReplayRequest(new_event_id().lower(), self._site, gap.gateway, gap.first, gap.last)
                for gap in gaps
                if gap not in given_up
            }
            replay_requests.record(db, requests.values(), now_ms)
        for watermark in watermarks:
            self._publish_watermark(watermark, now)
        for gap in given_up:
            self._gave_up(gap.gateway, gap.first, gap.last, f"replayed {settings.replay_attempts} times")
        for gap, request in requests.items():
            self._request_replay(gap, request.command_id)

    def take_answers(self, answers: Sequence[tuple[str, str, bytes]], now: datetime) -> None:
        """Note gateways' answers ``(gateway, command_id, payload)`` to the bridges' replay requests
        and give up what a gateway says it no longer holds; other ``cmd-ack`` messages are not ours.
        Raises ``sqlite3.Error`` with nothing noted."""
        now_ms = epoch_ms(now)
        given_up: list[tuple[str, int, int]] = []
        with self._transaction() as db:
            for gateway, command_id, payload in answers:
                request = replay_requests.open_request(db, self._site, gateway, command_id)
                if request is None:
                    continue
                answer = self._parse_answer(gateway, payload)
                if answer is None:
                    continue
                if answer.result != "replayed":
                    replay_requests.drop(db, command_id)
                    log.warning("gateway %s refused a replay request: %s", gateway, answer.reason)
                    continue
                replay_requests.note_replayed(db, command_id, now_ms)
                for first, last in replay_requests.no_longer_held(request, answer):
                    give_up_range(db, self._site, gateway, first, last, now_ms)
                    given_up.append((gateway, first, last))
        for gateway, first, last in given_up:
            self._gave_up(gateway, first, last, "no longer held by the gateway")

    def _replayed_enough(self, db: sqlite3.Connection, gap: Gap) -> bool:
        answered = replay_requests.replays_answered(db, self._site, gap.gateway, gap.first)
        return answered >= self._settings.replay_attempts

    def _parse_answer(self, gateway: str, payload: bytes) -> ReplayResult | None:
        try:
            return ReplayResult.model_validate_json(payload)
        except ValidationError as exc:
            self._metrics.bad_answers.inc()
            reason = exc.errors(include_input=False)[0]
            log.warning(
                "gateway %s: ignored a malformed replay answer: %s at %s",
                gateway,
                reason["msg"],
                reason["loc"],
            )
            return None

    def _gave_up(self, gateway: str, first: int, last: int, why: str) -> None:
        self._metrics.gaps_given_up.inc()
        log.warning("gateway %s: seq %d-%d given up, %s", gateway, first, last, why)

    def _publish_watermark(self, watermark: Watermark, now: datetime) -> None:
        message = WatermarkMessage(boot=watermark.boot, seq=watermark.seq, at=now)
        self._publish(topics.watermark(self._site, watermark.gateway), compact_json(message), True)
        self._metrics.watermarks.inc()

    def _request_replay(self, gap: Gap, command_id: str) -> None:
        command = ReplayCommand(command_id=command_id, boot=gap.boot, from_seq=gap.first, to_seq=gap.last)
        self._publish(topics.cmd(self._site, gap.gateway, "replay"), compact_json(command), False)
        self._metrics.replays.inc()
        log.info(
            "gateway %s: asked to replay seq %d-%d (attempt %d)",
            gap.gateway,
            gap.first,
            gap.last,
            gap.attempt,
        )
