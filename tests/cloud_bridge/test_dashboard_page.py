"""The nurses' dashboard in a real headless browser (Debian's Chromium) against a real bridge and
Mosquitto: a red reading published to the broker turns the resident's tile red without a reload,
acknowledging the alert in the page changes its state in the bridge, the trend plot draws the
stored readings inside the threshold bands, the English switch, and stopping the bridge with the
page's event stream open does not hang."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloud_bridge_kit import PULSE, SYSTOLIC, TestClient, envelope, site_config, vitals_topic
from playwright.sync_api import BrowserContext, Page, expect

from careedge_common.config import SiteConfig
from careedge_testkit.browser import chromium, screenshots_dir, shoot
from careedge_testkit.servers import Mosquitto, wait_until
from cloud_bridge.bridge import Bridge

pytestmark = pytest.mark.e2e

ANNA, BORIS, CHEN = ("s-" + letter * 32 for letter in "abc")
PLACES = {ANNA: ("2F", "201"), BORIS: ("2F", "202"), CHEN: ("3F", "301")}
RED = "rgb(179, 20, 27)"
"""The page's --red: the left bar of a red tile."""
STOP_TIMEOUT_S = 15.0


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with chromium(tmp_path / "chromium-profile", {"width": 1400, "height": 1000}) as context:
        yield context


def _config(tmp_path: Path, mosquitto: Mosquitto) -> SiteConfig:
    document: dict[str, Any] = site_config(tmp_path, mosquitto).model_dump(mode="json")
    document["alerts"]["rules"] = {
        "residents": {subject: {"floor": floor, "room": room} for subject, (floor, room) in PLACES.items()}
    }
    return SiteConfig.model_validate(document)


def _tile(page: Page, subject: str) -> Any:
    return page.locator(f'.tile[data-subject="{subject}"]')


def _stop_promptly(bridge: Bridge) -> None:
    stopper = threading.Thread(target=bridge.stop, name="stop-bridge")
    stopper.start()
    stopper.join(STOP_TIMEOUT_S)
    assert not stopper.is_alive(), "the bridge did not stop with a dashboard's event stream open"


def test_red_reading_turns_the_tile_red_live_and_the_page_acknowledges_it(
    tmp_path: Path, mosquitto: Mosquitto, gateway: TestClient, browser: BrowserContext
) -> None:
    screens = screenshots_dir(tmp_path)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    earlier = [(start + timedelta(hours=hour), systolic) for hour, systolic in ((0, 128), (2, 146), (4, 135))]
    bridge = Bridge(_config(tmp_path, mosquitto))
    bridge.start()
    try:
        wait_until(lambda: bridge.health().mqtt_connected, 10, "the bridge to connect")
        for at, systolic in earlier:
            gateway.publish(
                vitals_topic(), envelope((SYSTOLIC, systolic), (PULSE, 72), measured_at=at, subject=ANNA)
            )
        api = httpx.Client(base_url=bridge.api_url)
        wait_until(
            lambda: (
                len(api.get(f"/residents/{ANNA}/readings", params={"code": "8480-6"}).json()["readings"]) == 3
            ),
            10,
            "the earlier readings stored",
        )

        page = browser.new_page()
        page.goto(f"{bridge.api_url}/dashboard")
        expect(page.locator("#title")).to_have_text("护士站看板")
        expect(page.locator("#live")).to_have_text("实时")
        expect(page.locator(".floor h3")).to_have_text(["楼层 2F", "楼层 3F"])
        expect(_tile(page, BORIS)).to_have_attribute("data-colour", "green")
        _tile(page, ANNA).click()
        expect(page.locator("#trend svg circle.point")).to_have_count(3)
        expect(page.locator("#trend svg rect.band-red")).to_have_count(2)
        page.evaluate("window.notReloaded = true")
        shoot(page, screens, "dashboard-1-green.png")

        red = envelope((SYSTOLIC, 196), (PULSE, 88), subject=ANNA)
        gateway.publish(vitals_topic(), red)

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

        page.locator("#actor").fill("nurse.li")
        row.locator("button.ack").click()
        expect(row).to_have_attribute("data-state", "acknowledged")
        expect(row.locator("button.ack")).to_have_count(0)
        alert_id = row.get_attribute("data-alert-id")
        stored = api.get(f"/alerts/{alert_id}").json()
        assert stored["alert"]["state"] == "acknowledged"
        assert stored["transitions"][-1]["actor"] == "nurse.li"
        assert red["id"] in stored["alert"]["reading_ids"]
        shoot(page, screens, "dashboard-3-acknowledged.png")

        page.locator("#lang").click()
        expect(page.locator("#title")).to_have_text("Nurses' dashboard")
        expect(row.locator(".state")).to_have_text("acknowledged")
        shoot(page, screens, "dashboard-4-english.png")
        api.close()
    finally:
        _stop_promptly(bridge)
