"""The writer: batches of received messages through validate → dedupe → store → alert → ack.

Vitals, calls and cabinet events are envelopes; gateways' ``state`` documents are not (no ID,
retained, re-sent at each subscribe) and go straight to the alert engine. Between batches, the
writer also runs the alert engine's periodic tick, so every alert write happens on this thread
or under the store's lock.

The contract (DESIGN §4): a message is acknowledged only after its points are in the time-series
sink and its envelope ID and alerts are committed to the relational store. A failing step is
retried with backoff and no new message is taken meanwhile, so unacknowledged messages pile up
only to the broker's flow-control limit and nothing is dropped. On stop, a batch still being
retried is abandoned unacknowledged; the broker re-sends it to the next bridge session.
Rejected messages are acknowledged too (with their batch): a malformed message never becomes
valid, and re-delivering it forever would block the session. Gateways' answers on ``cmd-ack`` go
to the delivery check after the batch's envelopes are stored, so a replayed range and its answer
in one batch count the range as arrived.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import prometheus_client

from careedge_common import topics
from careedge_common.envelope import Envelope
from cloud_bridge.alert_service import AlertService
from cloud_bridge.dedupe import RecentIds
from cloud_bridge.events import GatewayState, StateError, parse_state
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.points import VitalPoint, points_of
from cloud_bridge.retry import STORAGE_RETRY
from cloud_bridge.seq_tracking import SeqMark
from cloud_bridge.sink import PointSink, SinkUnavailableError
from cloud_bridge.store import BridgeStore
from cloud_bridge.subscriber import Incoming
from cloud_bridge.validation import EnvelopeError, RejectReason, validate_envelope
from cloud_bridge.watermarks import WatermarkKeeper

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.2
"""How often an idle writer looks at the stop flag."""
PRUNE_INTERVAL_S = 3600.0
WATERMARK_TICK_S = 0.25
"""How often the writer looks for watermarks to publish and gaps to request between batches."""

_CMD_ACK = "/cmd-ack/"

T = TypeVar("T")


class Outlet(Protocol):
    def release(self, messages: Sequence[Incoming]) -> None: ...

    def flush_acks(self) -> None: ...

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    site: str
    batch_size: int
    batch_wait_s: float
    processed_retention: timedelta
    tick_s: float


class _StopRequestedError(Exception):
    """Raised out of a retry when the bridge stops: the batch is abandoned unacknowledged."""


class Pipeline:
    def __init__(
        self,
        settings: PipelineSettings,
        *,
        sink: PointSink,
        store: BridgeStore,
        alerts: AlertService,
        watermarks: WatermarkKeeper,
        recent: RecentIds,
        inbox: queue.SimpleQueue[Incoming],
        outlet: Outlet,
        metrics: BridgeMetrics,
        on_crash: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._store = store
        self._alerts = alerts
        self._watermarks = watermarks
        self._recent = recent
        self._outlet = outlet
        self._metrics = metrics
        self._on_crash = on_crash
        self._state_prefix = f"{topics.ROOT}/{settings.site}/"
        self._inbox = inbox
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge-writer", daemon=True)
        self.sink_ok = True
        """False from a failed write until the next successful one."""
        self.last_write_at: datetime | None = None
        self._turned_at = time.monotonic()
        metrics.watch_queue(self._inbox.qsize)

    @property
    def queue_depth(self) -> int:
        return self._inbox.qsize()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def turned_within(self, seconds: float) -> bool:
        """Whether the writer's loop went round (took a batch, or retried a step) that recently:
        what the systemd watchdog is fed on, so a writer stuck in a call gets restarted."""
        return self.alive and time.monotonic() - self._turned_at < seconds

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the batch in hand if its steps succeed, abandon it if they are being retried."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        next_prune = time.monotonic()
        next_watermark_tick = time.monotonic()
        next_tick = time.monotonic()
        try:
            while not self._stop.is_set():
                self._turned_at = time.monotonic()
                if time.monotonic() >= next_prune:
                    self._prune()
                    next_prune = time.monotonic() + PRUNE_INTERVAL_S
                if time.monotonic() >= next_watermark_tick:
                    self._tick_watermarks()
                    next_watermark_tick = time.monotonic() + WATERMARK_TICK_S
                if time.monotonic() >= next_tick:
                    self._retrying(self._alerts.tick, "alert tick")
                    next_tick = time.monotonic() + self._settings.tick_s
                batch = self._take_batch()
                if batch:
                    self._process(batch)
        except _StopRequestedError:
            log.info("stopping with a batch unwritten; the broker keeps it for the next session")
        except Exception:
            log.critical("the bridge writer failed; no further messages will be stored", exc_info=True)
            self._on_crash()
        finally:
            self._outlet.flush_acks()

    def _take_batch(self) -> list[Incoming]:
        """Up to ``batch_size`` messages, waiting at most ``batch_wait_s`` after the first."""
        if self._inbox.empty():
            self._outlet.flush_acks()
        try:
            batch = [self._inbox.get(timeout=IDLE_POLL_S)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self._settings.batch_wait_s
        while len(batch) < self._settings.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[Incoming]) -> None:
        self._metrics.batch_size.observe(len(batch))
        answers = [self._answer(message) for message in batch if _CMD_ACK in message.topic]
        others = [message for message in batch if _CMD_ACK not in message.topic] if answers else batch
        envelopes, states, valid = self._accept(others)
        fresh: list[Envelope] = []
        if envelopes:
            fresh_ids = self._retrying(lambda: self._store.unprocessed(envelopes.keys()), "store lookup")
            fresh = [envelope for envelope_id, envelope in envelopes.items() if envelope_id in fresh_ids]
        self._metrics.duplicates.inc(valid - len(fresh))
        self._store_fresh(fresh, states)
        if answers:
            self._retrying(
                lambda: self._watermarks.take_answers(answers, datetime.now(UTC)), "replay answers"
            )
        self._outlet.release(batch)

    def _answer(self, message: Incoming) -> tuple[str, str, bytes]:
        """(gateway, command_id, payload) of a ``.../{gateway}/cmd-ack/{command_id}`` message."""
        gateway, _, command_id = message.topic.removeprefix(self._state_prefix).partition(_CMD_ACK)
        return gateway, command_id, message.payload

    def _accept(self, batch: list[Incoming]) -> tuple[dict[str, Envelope], list[GatewayState], int]:
        """Valid envelopes not seen recently, by ID; gateway states in order of receipt; and how many
        envelope messages were valid.

        Rejections are counted, and logged once per reason and batch (never with payload content).
        """
        site = self._settings.site
        recent = self._recent
        accepted: dict[str, Envelope] = {}
        states: list[GatewayState] = []
        rejected: Counter[RejectReason] = Counter()
        first: dict[RejectReason, tuple[str, EnvelopeError]] = {}
        valid = 0
        for message in batch:
            try:
                if message.topic.endswith("/state"):
                    states.append(self._state(message))
                    continue
                envelope = validate_envelope(message.topic, message.payload, site)
            except EnvelopeError as exc:
                rejected[exc.reason] += 1
                first.setdefault(exc.reason, (message.topic, exc))
                continue
            valid += 1
            if envelope.id not in recent:
                accepted.setdefault(envelope.id, envelope)
        for reason, count in rejected.items():
            self._metrics.rejected.labels(reason).inc(count)
            topic, example = first[reason]
            log.warning(
                "rejected %d message(s) as %s; first on %s at %s (%s)",
                count,
                reason,
                topic,
                example.position,
                example.detail,
            )
        return accepted, states, valid

    def _state(self, message: Incoming) -> GatewayState:
        gateway = message.topic.removeprefix(self._state_prefix).removesuffix("/state")
        try:
            return parse_state(gateway, message.payload)
        except StateError as exc:
            raise EnvelopeError("bad_state", "(payload)", str(exc)) from None

    def _store_fresh(self, fresh: list[Envelope], states: list[GatewayState]) -> None:
        """Points first, then processed IDs, readings and alert transitions in one commit, then
        alert publication (by the alert service, after the commit)."""
        if not fresh and not states:
            return
        points = [point for envelope in fresh for point in points_of(envelope)]
        if points:
            self._write(points)
        now = self._alerts.clock()
        seqs = [SeqMark(envelope.site, envelope.gateway, envelope.seq, envelope.boot) for envelope in fresh]
        self._retrying(lambda: self._alerts.commit_batch(fresh, states, now, seqs), "store commit")
        self._recent.add_all(envelope.id for envelope in fresh)

    def _write(self, points: list[VitalPoint]) -> None:
        started = time.perf_counter()
        self._retrying(lambda: self._sink.write(points), "time-series write")
        self._metrics.write_seconds.observe(time.perf_counter() - started)
        self._metrics.points_written.inc(len(points))
        self.sink_ok = True
        self.last_write_at = datetime.now(UTC)

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        delays = STORAGE_RETRY.delays()
        while True:
            self._turned_at = time.monotonic()
            try:
                return action()
            except SinkUnavailableError as exc:
                self.sink_ok = False
                self._failed(self._metrics.sink_errors, what, exc, next(delays))
            except sqlite3.Error as exc:
                self._failed(self._metrics.store_errors, what, exc, next(delays))

    def _failed(self, counter: prometheus_client.Counter, what: str, exc: Exception, delay: float) -> None:
        counter.inc()
        log.warning("%s failed (%s); retrying in %.1f s without acknowledging", what, exc, delay)
        if self._stop.wait(delay):
            raise _StopRequestedError from exc

    def _tick_watermarks(self) -> None:
        try:
            self._watermarks.tick(datetime.now(UTC))
        except sqlite3.Error as exc:
            self._metrics.store_errors.inc()
            log.warning("could not check delivery watermarks (%s); trying again shortly", exc)

    def _prune(self) -> None:
        try:
            removed = self._store.prune_processed(datetime.now(UTC) - self._settings.processed_retention)
            self._alerts.prune()
        except sqlite3.Error as exc:
            log.warning("could not prune processed envelope IDs (%s); trying again later", exc)
            return
        if removed:
            log.info("forgot %d processed envelope IDs older than the retention", removed)
