"""Webhook delivery: signed HTTP POSTs from the store's queue, retried with exponential backoff.

Headers: ``Content-Type: application/json``; ``X-CareEdge-Delivery`` the delivery's number, the
same on every retry so a receiver can drop a copy it already has; ``X-CareEdge-Signature``
``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`` with the route's secret (``verify``
checks one). A 2xx answer is success; anything else, a timeout or a refused connection is a
failure, retried after ``first_retry_s`` growing by ``factor`` up to ``max_retry_s``, until
``max_attempts``. Delivery runs on its own thread and never holds up MQTT ingest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

import prometheus_client

from careedge_common.config_alerts import DeliveryPolicy, Route
from cloud_bridge import webhook_queue
from cloud_bridge.alert import Clock
from cloud_bridge.alert_store import from_ms
from cloud_bridge.webhook_queue import Delivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-CareEdge-Signature"
DELIVERY_HEADER = "X-CareEdge-Delivery"
CLAIM_LIMIT = 50
IDLE_WAIT_S = 5.0
"""Longest wait between looks at the queue when nothing is due (another bridge may add work)."""
SIGNATURE_TOLERANCE_S = 300


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: bytes, header: str, body: bytes, now: int, tolerance_s: int = SIGNATURE_TOLERANCE_S
) -> bool:
    """For receivers: the signature matches and its time is within ``tolerance_s`` of ``now``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def retry_delay(policy: DeliveryPolicy, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones (1 → ``first_retry_s``)."""
    return float(min(policy.first_retry_s * policy.factor ** (attempts - 1), policy.max_retry_s))


class Dispatcher:
    """Sends due deliveries. ``deliver_due`` does one pass (tests drive it with their clock);
    ``start`` runs passes on a thread, woken early by ``notify``."""

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
        routes: Mapping[str, Route],
        secrets: Mapping[str, bytes],
        policy: DeliveryPolicy,
        clock: Clock,
        outcomes: prometheus_client.Counter,
    ) -> None:
        self._transaction = transaction
        self._routes = routes
        self._secrets = secrets
        self._policy = policy
        self._clock = clock
        self._outcomes = outcomes
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def notify(self) -> None:
        self._wake.set()

    def deliver_due(self) -> int:
        """Try every due delivery once; returns how many succeeded."""
        now = self._clock()
        lease = timedelta(seconds=max((route.timeout_s for route in self._routes.values()), default=0) + 5)
        with self._transaction() as db:
            due = webhook_queue.claim_due(db, now, lease, CLAIM_LIMIT)
        succeeded = 0
        for delivery in due:
            error = self._send(delivery)
            finished = self._clock()
            with self._transaction() as db:
                if error is None:
                    webhook_queue.delivered(db, delivery.id, finished)
                    self._outcomes.labels("delivered").inc()
                    succeeded += 1
                else:
                    self._record_failure(db, delivery, error, finished)
        return succeeded

    def seconds_until_due(self) -> float:
        with self._transaction() as db:
            next_ms = webhook_queue.next_due(db)
        if next_ms is None:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, max(0.0, (from_ms(next_ms) - self._clock()).total_seconds()))

    def _record_failure(self, db: sqlite3.Connection, delivery: Delivery, error: str, now: datetime) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self._policy.max_attempts:
            self._outcomes.labels("given_up").inc()
            log.error(
                "webhook %d to route %s given up after %d attempts: %s",
                delivery.id,
                delivery.route,
                attempts,
                error,
            )
            webhook_queue.failed(db, delivery.id, error, None)
            return
        self._outcomes.labels("retried").inc()
        delay = retry_delay(self._policy, attempts)
        log.warning(
            "webhook %d to route %s failed (%s); retrying in %.1f s",
            delivery.id,
            delivery.route,
            error,
            delay,
        )
        webhook_queue.failed(db, delivery.id, error, now + timedelta(seconds=delay))

    def _send(self, delivery: Delivery) -> str | None:
        """None on success, else what went wrong (no body content: it names a resident's subject)."""
        route = self._routes.get(delivery.route)
        if route is None:
            return f"route {delivery.route} is no longer configured"
        timestamp = int(self._clock().timestamp())
        request = urllib.request.Request(  # noqa: S310 - the URL is configured and must be http(s)
            route.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                DELIVERY_HEADER: str(delivery.id),
                SIGNATURE_HEADER: signature(self._secrets[route.id], timestamp, delivery.body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=route.timeout_s) as response:  # noqa: S310
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.deliver_due()
                wait = self.seconds_until_due()
            except sqlite3.Error as exc:
                log.warning("webhook queue unavailable (%s); trying again shortly", exc)
                wait = IDLE_WAIT_S
            self._wake.wait(wait)
