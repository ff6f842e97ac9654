"""Webhook delivery to a real HTTP server on loopback: retries with backoff on the test clock, a
valid HMAC signature on every attempt, exactly one accepted delivery, and a queue that outlives
the bridge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_kit import ANNA, T0, Alerts, Clock, make_alerts, reading
from webhook_receiver import SECRET, Receiver

from careedge_common.config_alerts import DeliveryPolicy, Route
from cloud_bridge import webhook_queue
from cloud_bridge.metrics import BridgeMetrics
from cloud_bridge.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, Dispatcher, retry_delay, signature, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=3)
    yield server
    server.close()


def _site(tmp_path: Path, url: str, clock: Clock) -> tuple[Alerts, Route]:
    secret_file = tmp_path / "nurses.key"
    secret_file.write_bytes(SECRET)
    route = {"id": "nurses", "role": "nurse_station", "url": url, "secret_file": str(secret_file)}
    alerts = make_alerts(tmp_path, {"routes": [route]}, clock=clock)
    return alerts, Route.model_validate(route)


def _dispatcher(
    alerts: Alerts, route: Route, clock: Clock, metrics: BridgeMetrics, attempts: int = 30
) -> Dispatcher:
    policy = DeliveryPolicy(first_retry_s=2, factor=2, max_retry_s=60, max_attempts=attempts)
    return Dispatcher(
        alerts.store.transaction, {route.id: route}, {route.id: SECRET}, policy, clock, metrics.webhooks
    )


def test_route_failing_three_times_gets_the_alert_exactly_once_signed(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = Clock()
    alerts, route = _site(tmp_path, receiver.url, clock)
    alerts.feed(reading(ANNA, T0, systolic=190))
    metrics = BridgeMetrics()
    dispatcher = _dispatcher(alerts, route, clock, metrics)
    attempt_times = []
    for seconds in (0, 1, 2, 5, 6, 13, 14, 15, 100):
        clock.now = T0 + timedelta(seconds=seconds)
        before = len(receiver.requests)
        dispatcher.deliver_due()
        if len(receiver.requests) > before:
            attempt_times.append(seconds)
    assert attempt_times == [0, 2, 6, 14], "backoff 2, 4, 8 s"
    assert [status for _, _, status in receiver.requests] == [500, 500, 500, 204]
    [body] = receiver.accepted()
    document = json.loads(body)
    assert (document["route"], document["transition"]) == ("nurses", "raised")
    assert document["alert"]["subject"] == ANNA
    assert document["alert"]["severity"] == "red"
    for (headers, sent, _), seconds in zip(receiver.requests, attempt_times, strict=True):
        now = int((T0 + timedelta(seconds=seconds)).timestamp())
        assert sent == body
        assert headers[SIGNATURE_HEADER.lower()] == signature(SECRET, now, body)
        assert verify(SECRET, headers[SIGNATURE_HEADER.lower()], body, now)
        assert not verify(b"another secret", headers[SIGNATURE_HEADER.lower()], body, now)
        assert headers[DELIVERY_HEADER.lower()] == receiver.requests[0][0][DELIVERY_HEADER.lower()]
    assert metrics.value("careedge_bridge_webhooks_total", outcome="retried") == 3
    assert metrics.value("careedge_bridge_webhooks_total", outcome="delivered") == 1
    with alerts.store.reading() as db:
        assert webhook_queue.counts(db) == {"delivered": 1}
    alerts.close()


def test_undelivered_webhooks_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    receiver.failures = 0
    clock = Clock()
    alerts, route = _site(tmp_path, "http://127.0.0.1:9/closed", clock)
    alerts.feed(reading(ANNA, T0, systolic=190))
    _dispatcher(alerts, route, clock, BridgeMetrics()).deliver_due()
    alerts.close()
    moved = route.model_copy(update={"url": receiver.url})
    restarted, _ = _site(tmp_path, receiver.url, clock)
    clock.advance(seconds=2)
    assert _dispatcher(restarted, moved, clock, BridgeMetrics()).deliver_due() == 1
    assert json.loads(receiver.accepted()[0])["alert"]["subject"] == ANNA
    restarted.close()


def test_delivery_is_given_up_after_the_last_attempt(tmp_path: Path, receiver: Receiver) -> None:
    receiver.failures = 10
    clock = Clock()
    alerts, route = _site(tmp_path, receiver.url, clock)
    alerts.feed(reading(ANNA, T0, systolic=190))
    metrics = BridgeMetrics()
    dispatcher = _dispatcher(alerts, route, clock, metrics, attempts=2)
    for _ in range(4):
        dispatcher.deliver_due()
        clock.advance(minutes=5)
    assert len(receiver.requests) == 2
    assert metrics.value("careedge_bridge_webhooks_total", outcome="given_up") == 1
    with alerts.store.reading() as db:
        assert webhook_queue.counts(db) == {"failed": 1}
    alerts.close()


def test_backoff_grows_to_its_cap_and_old_signatures_are_refused() -> None:
    policy = DeliveryPolicy(first_retry_s=2, factor=3, max_retry_s=30)
    assert [retry_delay(policy, n) for n in range(1, 6)] == [2, 6, 18, 30, 30]
    header = signature(SECRET, 1000, b"{}")
    assert verify(SECRET, header, b"{}", 1300)
    assert not verify(SECRET, header, b"{}", 1301)
    assert not verify(SECRET, header, b"{ }", 1000)
    assert not verify(SECRET, "v1=abc", b"{}", 1000)
