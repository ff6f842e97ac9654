"""One bridge instance, assembled from config: what ``careedge bridge`` runs, and what tests and
the demo run in-process (any number of them, each with its own ports and metrics registry).

    with Bridge(config) as bridge:      # or bridge.start() … bridge.stop()
        ...                             # bridge.api_url, bridge.metrics, bridge.crashed
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import timedelta
from types import TracebackType
from typing import Self

from careedge_common.api_server import make_api_server
from careedge_common.config import SiteConfig, read_key_file
from careedge_common.envelope import utc_now
from careedge_common.mqtt_client import is_v5
from cloud_bridge.access import bridge_guard
from cloud_bridge.alert import Clock
from cloud_bridge.alert_service import AlertService
from cloud_bridge.api import Health, create_app
from cloud_bridge.dashboard import DashboardSources
from cloud_bridge.dedupe import RecentIds
from cloud_bridge.engine import AlertEngine
from cloud_bridge.live_feed import LiveFeed
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.pipeline import Pipeline, PipelineSettings
from cloud_bridge.session_takeover import TakeoverHooks
from cloud_bridge.sink import open_sink
from cloud_bridge.store import BridgeStore
from cloud_bridge.subscriber import Incoming, Subscriber
from cloud_bridge.takeover import Takeovers
from cloud_bridge.watermarks import DeliveryCheckMetrics, WatermarkKeeper
from cloud_bridge.webhook import Dispatcher

log = logging.getLogger(__name__)

API_START_TIMEOUT_S = 10.0
API_START_POLL_S = 0.02


class BridgeError(Exception):
    """The bridge could not start (its API port is taken, …); the message says what failed."""


class Bridge:
    def __init__(self, config: SiteConfig, clock: Clock = utc_now) -> None:
        """Opens the stores. Raises ``ValueError`` without a ``bridge`` section, ``SecretError`` when a
        configured secret (a webhook route's too) cannot be read, ``sqlite3.Error`` when a store file
        cannot be opened. ``clock`` is what the alert lifecycle and webhooks take as now."""
        if config.bridge is None:
            raise ValueError("the config has no 'bridge' section")
        settings = config.bridge
        self.metrics = BridgeMetrics()
        self.crashed = threading.Event()
        """Set when the writer died of an unexpected error; the process should exit and restart."""
        rules = config.alerts.rules
        secrets = {route.id: read_key_file(route.secret_file) for route in rules.routes}
        self._store = BridgeStore(settings.store_path)
        self._sink = open_sink(settings.sink)
        inbox: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._subscriber = Subscriber(
            config.site.id,
            config.broker,
            settings,
            inbox.put,
            self.metrics.received.inc,
            self.metrics.acked.inc,
        )
        self._takeovers = (
            Takeovers(
                config.site.id,
                config.broker,
                settings,
                self._subscriber,
                TakeoverHooks(inbox.put, self.metrics.received.inc, self.metrics.acked.inc),
                self.metrics.registry,
            )
            if settings.takeover.enabled and is_v5(config.broker)
            else None
        )
        self.alerts = AlertService(
            config.site.id,
            self._store,
            AlertEngine(config.site, config.alerts),
            self._subscriber.publish,
            self.metrics,
            clock,
        )
        self._webhooks = Dispatcher(
            self._store.transaction,
            {route.id: route for route in rules.routes},
            secrets,
            rules.delivery,
            clock,
            self.metrics.webhooks,
        )
        self.alerts.add_listener(lambda transition: self._webhooks.notify() if transition.routes else None)
        self._live = LiveFeed()
        self.alerts.add_listener(self._live.on_transition)
        self.alerts.add_readings_listener(self._live.on_readings)
        self._pipeline = Pipeline(
            PipelineSettings(
                site=config.site.id,
                batch_size=settings.batch_size,
                batch_wait_s=settings.batch_wait_ms / 1000,
                processed_retention=timedelta(days=settings.processed_retention_days),
                tick_s=rules.tick_s,
            ),
            sink=self._sink,
            store=self._store,
            alerts=self.alerts,
            watermarks=WatermarkKeeper(
                config.site.id,
                settings.delivery,
                self._store.transaction,
                self._subscriber.publish,
                DeliveryCheckMetrics(self.metrics.registry),
            ),
            recent=RecentIds(settings.dedupe_window),
            inbox=inbox,
            outlet=self._takeovers or self._subscriber,
            metrics=self.metrics,
            on_crash=self.crashed.set,
        )
        self.api_url = f"http://{settings.api.host}:{settings.api.port}"
        self._api = make_api_server(
            create_app(
                self.alerts,
                self.health,
                self.metrics,
                self._store,
                DashboardSources(self._live, config.alerts),
                bridge_guard(settings.api.access, self.metrics),
            ),
            settings.api.host,
            settings.api.port,
        )
        self._api_thread = threading.Thread(target=self._api.run, name="bridge-api", daemon=True)

    def start(self) -> None:
        """Serve the API, start the writer, then connect to the broker (which may still be down:
        paho keeps retrying). Raises ``BridgeError`` if the API cannot listen."""
        self._api_thread.start()
        deadline = time.monotonic() + API_START_TIMEOUT_S
        while not self._api.started and self._api_thread.is_alive() and time.monotonic() < deadline:
            time.sleep(API_START_POLL_S)
        if not self._api.started:
            self._api.should_exit = True
            self._api_thread.join()
            self._close_stores()
            raise BridgeError(f"the bridge API could not listen on {self.api_url}")
        self._pipeline.start()
        self._webhooks.start()
        self._subscriber.start()
        if self._takeovers is not None:
            self._takeovers.start()
        log.info("bridge started; API on %s", self.api_url)

    def stop(self) -> None:
        """Stop taking messages, let the writer finish or abandon its batch unacknowledged, stop
        webhook delivery (what is undelivered waits in the store), say ``offline`` to the gateways
        and disconnect, end a takeover in progress and say ``offline`` to the peer bridges (only
        now, so that none takes this session over while this bridge still holds it), end the
        dashboards' live streams, stop the API and close the stores."""
        self._pipeline.stop()
        self._webhooks.stop()
        self._subscriber.stop()
        if self._takeovers is not None:
            self._takeovers.stop()
        self._live.close()
        self._api.should_exit = True
        self._api_thread.join()
        self._close_stores()
        log.info("bridge stopped")

    @property
    def subscribed(self) -> bool:
        """The broker has granted the vitals subscription at least once: messages can flow."""
        return self._subscriber.subscribed.is_set()

    def working(self, within_s: float) -> bool:
        """The writer is alive and its loop went round within ``within_s`` (see ``Pipeline``)."""
        return not self.crashed.is_set() and self._pipeline.turned_within(within_s)

    def health(self) -> Health:
        return Health(
            mqtt_connected=self._subscriber.connected,
            writer_alive=self._pipeline.alive,
            sink_ok=self._pipeline.sink_ok,
            last_write_at=self._pipeline.last_write_at,
            queue_depth=self._pipeline.queue_depth,
            webhooks=self.alerts.webhook_counts(),
        )

    def _close_stores(self) -> None:
        self._sink.close()
        self._store.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
