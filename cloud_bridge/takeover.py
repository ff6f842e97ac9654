"""Survivors take over the session of a bridge that died (DESIGN §6, issue 6).

On an MQTT 5 shared subscription, Mosquitto 2.0 keeps a dead member's unacknowledged messages,
and keeps routing its round-robin share, in that member's persistent session until the same
client ID connects again. Restarting the dead bridge (systemd) is not enough when it stays down.
So each bridge announces itself (``bridge_presence``), the lowest online bridge takes every offline
peer (``takeover_choice``), and a takeover client drains the peer's session through this bridge's
own pipeline (``session_takeover``), one peer at a time, on one thread.

This object is also the pipeline's outlet: a processed message is acknowledged on the session
that delivered it, this bridge's own or the one being taken over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter

from careedge_common import topics
from careedge_common.config import BridgeConfig, BrokerConfig
from cloud_bridge.bridge_presence import BridgePresence
from cloud_bridge.session_takeover import Outcome, SessionTakeover, TakeoverHooks
from cloud_bridge.subscriber import ONLINE, Incoming, Subscriber
from cloud_bridge.takeover_choice import PeerTable

log = logging.getLogger(__name__)


class TakeoverMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "careedge_bridge_takeovers_started",
            "Takeovers of a dead peer bridge's MQTT session begun",
            registry=registry,
        )
        self.finished = Counter(
            "careedge_bridge_takeovers_finished",
            "Takeovers ended, by outcome (drained, no_session, interrupted, failed, stopped)",
            ["outcome"],
            registry=registry,
        )
        self.messages = Counter(
            "careedge_bridge_takeover_messages",
            "Messages received from dead peers' sessions",
            registry=registry,
        )
        for outcome in Outcome:
            self.finished.labels(outcome.value)


class Takeovers:
    def __init__(
        self,
        site: str,
        broker: BrokerConfig,
        bridge: BridgeConfig,
        subscriber: Subscriber,
        hooks: TakeoverHooks,
        registry: CollectorRegistry,
    ) -> None:
        """Raises ``SecretError`` when the broker password cannot be read."""
        self._site = site
        self._broker = broker
        self._bridge = bridge
        self._subscriber = subscriber
        self._hooks = TakeoverHooks(hooks.deliver, self._count_received, hooks.on_acked)
        self._received = hooks.on_received
        self._metrics = TakeoverMetrics(registry)
        self._filters = topics.bridge_ingest_filters(site, share=True)
        self._peers = PeerTable(bridge.client_id)
        self._presence = BridgePresence(site, broker, bridge.client_id, self._on_peer, self._on_presence)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._current: SessionTakeover | None = None
        self._routing = False
        """Set by the first takeover: until then every release is this bridge's own session's."""
        self._thread = threading.Thread(target=self._run, name="bridge-takeover", daemon=True)

    def start(self) -> None:
        self._presence.start()
        self._thread.start()

    def stop(self) -> None:
        """End a takeover in progress (its unacknowledged messages stay in the peer's session),
        then say ``offline`` to the peers so one of them takes over this bridge's session."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        self._presence.stop()

    def release(self, messages: Sequence[Incoming]) -> None:
        if not self._routing:
            self._subscriber.release(messages)
            return
        own = [message for message in messages if message.taken_over_from is None]
        current = self._current
        if len(own) < len(messages) and current is not None:
            current.release(messages)
        self._subscriber.release(own)

    def flush_acks(self) -> None:
        self._subscriber.flush_acks()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._subscriber.publish(topic, payload, retain)

    def _count_received(self) -> None:
        self._received()
        self._metrics.messages.inc()

    def _on_peer(self, peer: str, online: bool) -> None:
        self._peers.update(peer, online)
        self._wake.set()

    def _on_presence(self) -> None:
        self._peers.forget_settled()
        self._wake.set()

    def _run(self) -> None:
        retry_s = self._bridge.takeover.retry_s
        while not self._stop.is_set():
            self._wake.wait(retry_s)
            self._wake.clear()
            if not (self._subscriber.connected and self._subscriber.subscribed.is_set()):
                continue
            for peer in self._peers.to_take_over(time.monotonic()):
                if self._stop.is_set():
                    break
                try:
                    self._take_over(peer)
                except Exception:
                    log.exception("the takeover of %s's session failed; trying again later", peer)
                    self._peers.defer(peer, time.monotonic() + retry_s)

    def _take_over(self, peer: str) -> None:
        """Only an online bridge whose own session holds the shared subscription gets here, so the
        stream keeps a subscriber while the peer's session is unsubscribed."""
        log.info("bridge %s is offline; taking over its session", peer)
        self._metrics.started.inc()
        run = SessionTakeover(
            peer,
            self._broker,
            self._bridge.receive_maximum,
            self._filters,
            self._bridge.takeover.quiet_s,
            self._hooks,
            self._stop,
        )
        self._routing = True
        self._current = run
        try:
            outcome = run.run()
        finally:
            self._current = None
        self._metrics.finished.labels(outcome.value).inc()
        log.info("takeover of %s's session ended (%s) after %d message(s)", peer, outcome.value, run.received)
        if outcome in (Outcome.DRAINED, Outcome.NO_SESSION):
            self._peers.settle(peer)
            self._subscriber.publish(topics.bridge_state(self._site), ONLINE, retain=True)
        elif outcome in (Outcome.INTERRUPTED, Outcome.FAILED):
            self._peers.defer(peer, time.monotonic() + self._bridge.takeover.retry_s)
