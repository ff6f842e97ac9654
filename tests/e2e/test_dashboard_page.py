"""The nurses' dashboard in a real headless browser (Debian's Chromium) against a real bridge and
Mosquitto: a red reading published to the broker turns the resident's tile red without a reload,
acknowledging the alert in the page changes its state in the bridge, the trend plot draws the
stored readings inside the threshold bands, the English switch, and stopping the bridge with the
page's event stream open does not hang."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from careedge_common import topics
from careedge_common.access.tokens import TokenFile
from careedge_common.config import SiteConfig
from careedge_common.envelope import Envelope, Observation, new_event_id
from careedge_testkit.browser import chromium, shoot
from careedge_testkit.screenshots import screenshot_dir
from careedge_testkit.servers import LOOPBACK, Mosquitto, free_port, wait_until
from careedge_testkit.tokens import access_config, bearer, tokens_path
from cloud_bridge.bridge import Bridge

pytestmark = pytest.mark.e2e

SITE, GATEWAY, DEVICE = "site-d", "gw-1", "kiosk-1"
ANNA, BORIS, CHEN = ("s-" + letter * 32 for letter in "abc")
PLACES = {ANNA: ("2F", "201"), BORIS: ("2F", "202"), CHEN: ("3F", "301")}
RED = "rgb(179, 20, 27)"
"""The page's --red: the left bar of a red tile."""
STOP_TIMEOUT_S = 15.0
DESK_SCREEN: ViewportSize = {"width": 1400, "height": 1000}
"""A nurses' station monitor, wider than the kiosk's touchscreen."""
Publish = Callable[[Envelope], None]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with chromium(tmp_path / "chromium-profile") as context:
        yield context


def _config(tmp_path: Path, mosquitto: Mosquitto) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"id": SITE},
            "broker": {"insecure": True, "host": LOOPBACK, "port": mosquitto.port, "keepalive_s": 10},
            "bridge": {
                "client_id": "bridge-dashboard",
                "sink": {"kind": "sqlite", "path": str(tmp_path / "points.db")},
                "store_path": str(tmp_path / "bridge.db"),
                "api": {"port": free_port(), "access": access_config(tmp_path)},
                "batch_wait_ms": 20,
            },
            "alerts": {
                "thresholds": [
                    {
                        "code": "8480-6",
                        "yellow_above": 140,
                        "red_above": 180,
                        "yellow_below": 100,
                        "red_below": 90,
                    }
                ],
                "rules": {
                    "residents": {s: {"floor": floor, "room": room} for s, (floor, room) in PLACES.items()}
                },
            },
        }
    )


def _reading(subject: str, at: datetime, systolic: float, pulse: float) -> Envelope:
    observations = [
        Observation(code="8480-6", name="Systolic blood pressure", value=systolic, unit="mm[Hg]"),
        Observation(code="8867-4", name="Heart rate", value=pulse, unit="/min"),
    ]
    where = {"site": SITE, "gateway": GATEWAY, "device": DEVICE}
    return Envelope(
        id=new_event_id(), seq=1, boot=1, type="observation", measured_at=at, received_at=at,
        subject=subject, obs=observations, **where,
    )  # fmt: skip


@pytest.fixture
def gateway(mosquitto: Mosquitto) -> Iterator[Publish]:
    """Publishes envelopes on the kiosk's vitals topic at QoS 1, as a gateway does."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{new_event_id()}", protocol=mqtt.MQTTv5)
    client.connect(LOOPBACK, mosquitto.port)
    client.loop_start()
    topic = topics.vitals(SITE, GATEWAY, DEVICE)

    def publish(envelope: Envelope) -> None:
        client.publish(topic, envelope.model_dump_json(), qos=1).wait_for_publish(5)

    yield publish
    client.disconnect()
    client.loop_stop()


def _tile(page: Page, subject: str) -> Any:
    return page.locator(f'.tile[data-subject="{subject}"]')


def _stop_promptly(bridge: Bridge) -> None:
    stopper = threading.Thread(target=bridge.stop, name="stop-bridge")
    stopper.start()
    stopper.join(STOP_TIMEOUT_S)
    assert not stopper.is_alive(), "the bridge did not stop with a dashboard's event stream open"


def test_red_reading_turns_the_tile_red_live_and_the_page_acknowledges_it(
    tmp_path: Path, mosquitto: Mosquitto, gateway: Publish, browser: BrowserContext
) -> None:
    screens = screenshot_dir(tmp_path)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    earlier = [(start + timedelta(hours=hour), systolic) for hour, systolic in ((0, 128), (2, 146), (4, 135))]
    bridge = Bridge(_config(tmp_path, mosquitto))
    bridge.start()
    try:
        wait_until(lambda: bridge.subscribed, 10, "the bridge to subscribe")
        for at, systolic in earlier:
            gateway(_reading(ANNA, at, systolic, 72))
        nurse = TokenFile(tokens_path(tmp_path)).create("nurse.li", "nurse", datetime.now(UTC))
        api = httpx.Client(base_url=bridge.api_url, headers=bearer(nurse))
        wait_until(
            lambda: (
                len(api.get(f"/residents/{ANNA}/readings", params={"code": "8480-6"}).json()["readings"]) == 3
            ),
            10,
            "the earlier readings stored",
        )

        page = browser.new_page()
        page.set_viewport_size(DESK_SCREEN)
        page.goto(f"{bridge.api_url}/dashboard#token={nurse}")
        expect(page.locator("#title")).to_have_text("护士站看板")
        expect(page.locator("#live")).to_have_text("实时")
        expect(page.locator(".floor h3")).to_have_text(["楼层 2F", "楼层 3F"])
        expect(_tile(page, BORIS)).to_have_attribute("data-colour", "green")
        _tile(page, ANNA).click()
        expect(page.locator("#trend svg circle.point")).to_have_count(3)
        expect(page.locator("#trend svg rect.band-red")).to_have_count(2)
        page.evaluate("window.notReloaded = true")
        shoot(page, screens, "dashboard-1-green.png")

        red = _reading(ANNA, datetime.now(UTC).replace(microsecond=0), 196, 88)
        gateway(red)

        expect(_tile(page, ANNA)).to_have_attribute("data-colour", "red")
        expect(_tile(page, ANNA)).to_have_css("border-left-color", RED)
        row = page.locator("#alerts li.red")
        expect(row).to_have_attribute("data-state", "raised")
        expect(row.locator(".title")).to_contain_text("196")
        expect(page.locator("#trend svg circle.point")).to_have_count(4)
        plotted = page.locator("#trend svg circle.point").evaluate_all(
            "dots => dots.map(d => +d.dataset.value)"
        )
        assert plotted == [128, 146, 135, 196]
        assert page.evaluate("window.notReloaded") is True
        shoot(page, screens, "dashboard-2-red.png")

        row.locator("button.ack").click()
        expect(row).to_have_attribute("data-state", "acknowledged")
        expect(row.locator("button.ack")).to_have_count(0)
        alert_id = row.get_attribute("data-alert-id")
        stored = api.get(f"/alerts/{alert_id}").json()
        assert stored["alert"]["state"] == "acknowledged"
        assert stored["transitions"][-1]["actor"] == "nurse.li"
        assert red.id in stored["alert"]["reading_ids"]
        shoot(page, screens, "dashboard-3-acknowledged.png")

        page.locator("#lang").click()
        expect(page.locator("#title")).to_have_text("Nurses' dashboard")
        expect(row.locator(".state")).to_have_text("acknowledged")
        shoot(page, screens, "dashboard-4-english.png")
        api.close()
    finally:
        _stop_promptly(bridge)
