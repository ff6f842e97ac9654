# ruff: noqa: RUF001 - the page's Chinese texts take full-width punctuation, as written Chinese does.
"""The pharmacist's refill page in headless Chromium (Debian's, driven by Playwright) against a real
edge process and the simulated cabinet on Modbus TCP: sign in with a token, see the inventory with
its flags, refill a slot with lot and expiry, shut the drawer, see the inventory change, switch to
English. Screenshots of each step: docs/screens/pharmacist-*.png (``make screens``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from careedge_testkit.browser import chromium, shoot
from careedge_testkit.edge_api import EdgeApi
from careedge_testkit.processes import Daemon
from careedge_testkit.screenshots import screenshot_dir
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from firmware_sim.cabinet.model import DEFAULT_DOSES_PER_SLOT, CabinetModel
from tests.cabinet.cabinet_kit import CABINET, edge_config, simulated_cabinet
from tests.cabinet.test_refill_e2e import add_pharmacist

pytestmark = pytest.mark.e2e

LOW_SLOT, SLOT = 6, 2
ADDED = 10


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with chromium(tmp_path / "chromium-profile") as context:
        yield context


def _drain(api: EdgeApi, model: CabinetModel, slot: int, keep: int, expiry: str) -> None:
    """Before the page: the pharmacist cleared most of a slot earlier (an older lot), so the
    inventory shows it running low and expiring soon."""
    opened = api.post("/pharmacy/api/refills", {"cabinet": CABINET, "slot": slot})
    model.open_drawer(slot)
    model.take_doses(slot, DEFAULT_DOSES_PER_SLOT - keep)
    model.close_drawer(slot)
    refill = f"/pharmacy/api/refills/{opened['refill_id']}"
    api.post(f"{refill}/record", {"quantity": keep, "added": 0, "lot": "L2025-11", "expiry": expiry})
    api.post(f"{refill}/close")


def test_sign_in_refill_a_slot_and_see_the_inventory_change(
    tmp_path: Path, mosquitto: Mosquitto, browser: BrowserContext
) -> None:
    screens = screenshot_dir(tmp_path)
    token = add_pharmacist(tmp_path / "data", "张药师")
    api = EdgeApi(free_port(), token)
    today = datetime.now(UTC).date()
    with simulated_cabinet() as cabinet:
        model = cabinet.model
        config = edge_config(tmp_path, mosquitto.port, cabinet, api.port)
        with Daemon("edge", config):
            wait_until(api.up, 20, "edge API up")
            _drain(api, model, LOW_SLOT, 4, (today + timedelta(days=10)).isoformat())
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{api.port}/pharmacy")
            expect(page.get_by_role("heading", name="药柜补药")).to_be_visible()
            shoot(page, screens, "pharmacist-1-login.png")
            page.locator("#token").fill("wrong")
            page.get_by_role("button", name="登录").click()
            expect(page.locator("#message")).to_have_text("令牌无效。")
            page.locator("#token").fill(token)
            page.get_by_role("button", name="登录").click()
            expect(page.locator("#who")).to_have_text("张药师")
            low = page.locator(f"tr[data-slot='{LOW_SLOT}']")
            expect(low.locator(".flag.near_empty")).to_have_text("快用完")
            expect(low.locator(".flag.near_expiry")).to_have_text("快过期")
            shoot(page, screens, "pharmacist-2-inventory.png")

            row = page.locator(f"tr[data-slot='{SLOT}']")
            expect(row.locator("td").nth(1)).to_have_text(str(DEFAULT_DOSES_PER_SLOT))
            row.get_by_role("button", name="补药").click()
            expect(page.locator("#panel-title")).to_have_text(f"补药：{CABINET} 第 {SLOT} 格")
            wait_until(lambda: model.is_unlocked(SLOT), 10, "drawer released")
            model.open_drawer(SLOT)
            page.locator("#added").fill(str(ADDED))
            page.locator("#quantity").fill(str(DEFAULT_DOSES_PER_SLOT + ADDED + 1))
            page.locator("#lot").fill("L2027-03A")
            page.locator("#expiry").fill("2027-06-30")
            page.get_by_role("button", name="记录").click()
            expect(page.locator("#message")).to_have_text(
                "数量不符：药柜计数 28 剂，加上新放入的 10 剂应为 38 剂，您填写的是 39 剂。请重新清点。"
            )
            shoot(page, screens, "pharmacist-3-mismatch.png", full_page=True)
            page.locator("#quantity").fill(str(DEFAULT_DOSES_PER_SLOT + ADDED))
            page.get_by_role("button", name="记录").click()
            expect(page.locator("#message")).to_have_text("已记录。请关好抽屉后点“关闭抽屉”。")
            shoot(page, screens, "pharmacist-4-recorded.png", full_page=True)
            page.get_by_role("button", name="关闭抽屉").click()
            expect(page.locator("#message")).to_have_text("抽屉还开着，请先关好。")
            model.close_drawer(SLOT)
            page.get_by_role("button", name="关闭抽屉").click()
            expect(page.locator("#message")).to_have_text("补药完成。")
            expect(row.locator("td").nth(1)).to_have_text(str(DEFAULT_DOSES_PER_SLOT + ADDED))
            expect(row.locator("td").nth(2)).to_have_text("L2027-03A")
            expect(row.locator("td").nth(3)).to_have_text("2027-06-30")
            shoot(page, screens, "pharmacist-5-done.png", full_page=True)
            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", name="Cabinet refills")).to_be_visible()
            expect(low.locator(".flag.near_empty")).to_have_text("running low")
            expect(page.locator("#message")).to_have_text("Refill done.")
            shoot(page, screens, "pharmacist-6-english.png", full_page=True)
        assert model.slot_count(SLOT) == DEFAULT_DOSES_PER_SLOT + ADDED
