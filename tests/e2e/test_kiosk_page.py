# ruff: noqa: RUF001 - the page's Chinese texts take full-width punctuation, as written Chinese does.
"""The kiosk page in a real headless browser (Debian's chromium driven by Playwright, no browser
download) against a real edge process, Mosquitto, the HL7 kiosk simulator and the ID-reader
simulator, operated by touch only: the scan screen, a card that is not on the roster (typed by a
keyboard-wedge QR scanner), a card on the reader, a result in its colour, the language switch,
"call nurse" and the envelope on the broker, logout. Screenshots of each step go to the test's
directory, or to docs/screens/ with ``make screens``.

Needs the Debian packages ``chromium`` and ``fonts-wqy-microhei`` (Chinese glyphs).
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from careedge_common.config import Threshold
from careedge_common.envelope import Envelope
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.browser import chromium
from careedge_testkit.mqtt_capture import MqttCapture
from careedge_testkit.processes import Daemon, write_config
from careedge_testkit.screenshots import screenshot_dir
from careedge_testkit.servers import Mosquitto, free_port, wait_until
from careedge_testkit.tokens import access_config, new_token
from firmware_sim.id_reader import IdReaderSimulator
from firmware_sim.kiosk import KioskSimulator, MeasurementKind, Resident

SITE, GATEWAY, STATION = "home-p", "gw-1", "lobby"
FACILITY = "SUNRISE_CARE"
RESIDENT = Resident("11010519450101234X", "王", "秀英")
NAME = "王秀英"
THRESHOLDS = [
    {"code": "8480-6", "yellow_above": 139, "red_above": 180, "yellow_below": 90, "red_below": 70},
    {"code": "8462-4", "yellow_above": 89, "red_above": 120, "yellow_below": 50},
    {"code": "8867-4", "yellow_above": 100, "red_above": 130, "yellow_below": 50, "red_below": 40},
]
BANDS = {t["code"]: Threshold.model_validate(t) for t in THRESHOLDS}
BAND_COLOURS = {"green": "rgb(27, 122, 51)", "yellow": "rgb(242, 183, 5)", "red": "rgb(179, 20, 27)"}
"""The left bar of a result card, per band (the page's --green, --yellow-bar, --red)."""

pytestmark = pytest.mark.e2e
"""No skip when Chromium is missing: ``make test`` installs it, and a skipped test proves nothing."""


def _config(tmp_path: Path, broker: int, kiosk_tty: Path, reader: IdReaderSimulator, api: int) -> Path:
    secret = tmp_path / "secret.key"
    secret.write_bytes(secrets.token_bytes(32))
    roster = tmp_path / "residents.csv"
    roster.write_text(f"resident_id,display_name\n{RESIDENT.resident_id},{NAME}\n", encoding="utf-8")
    return write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": SITE, "timezone": "Asia/Shanghai"},
            "broker": {"insecure": True, "port": broker, "keepalive_s": 5},
            "gateway": {
                "id": GATEWAY,
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "api": {"port": api, "access": access_config(tmp_path)},
                "kiosk": {
                    "station": STATION,
                    "residents_file": str(roster),
                    "identifier_authority": FACILITY,
                },
            },
            "devices": [
                {"id": "kiosk-1", "kind": "hl7_kiosk", "port": str(kiosk_tty), "ack_timeout_s": 3},
                {"id": "reader-1", "kind": "id_reader", "port": str(reader.device_path)},
            ],
            "alerts": {"thresholds": THRESHOLDS},
        },
    )


def _reader_up(api: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api}/metrics", timeout=2) as response:
            return 'careedge_edge_device_up{device="reader-1"} 1.0' in response.read().decode()
    except OSError:
        return False


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with chromium(tmp_path / "chromium-profile") as context:
        yield context


def _shoot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name))


def test_touch_session_coloured_result_and_call_nurse(
    mosquitto: Mosquitto, tmp_path: Path, browser: BrowserContext
) -> None:
    api = free_port()
    screens = screenshot_dir(tmp_path)
    kiosk_tty = tmp_path / "kiosk.tty"
    kiosk = KioskSimulator(
        residents=[RESIDENT],
        interval=0.5,
        count=1,
        seed=12,
        abnormal=1.0,
        kinds=[MeasurementKind.BLOOD_PRESSURE],
        link=kiosk_tty,
        ack_timeout=3,
    )
    with (
        IdReaderSimulator(link=tmp_path / "reader.tty") as reader,
        MqttCapture(mosquitto.port, [f"careedge/v1/{SITE}/{GATEWAY}/call"]) as calls,
    ):
        config = _config(tmp_path, mosquitto.port, kiosk_tty, reader, api)
        subject = Pseudonymiser((tmp_path / "secret.key").read_bytes()).subject(
            RESIDENT.resident_id, FACILITY
        )
        with Daemon("edge", config) as edge:
            wait_until(lambda: _reader_up(api), 60, "the edge up with its reader open")
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{api}/kiosk#token={new_token(tmp_path, 'resident_kiosk')}")

            expect(page.locator("#scan-title")).to_have_text("请刷身份证或扫描二维码")
            expect(page.locator("#call")).to_have_text("呼叫护士")
            _shoot(page, screens, "kiosk-1-scan.png")

            page.keyboard.type("CH999999")
            page.keyboard.press("Enter")
            expect(page.locator("#notice")).to_have_text("未能识别这张卡。请联系工作人员。")
            expect(page.locator("#session-screen")).to_be_hidden()

            reader.scan(RESIDENT.resident_id)
            expect(page.locator("#hello")).to_have_text(f"您好，{NAME}")
            expect(page.locator("#steps li.current")).to_have_text("请坐好，双脚平放，安静休息一会儿。")
            page.locator("#next").tap()
            expect(page.locator("#steps li.current")).to_contain_text("袖带")
            expect(page.locator("#steps li.done")).to_have_count(1)
            _shoot(page, screens, "kiosk-2-session.png")
            page.locator("#next").tap()
            page.locator("#next").tap()
            expect(page.locator("#steps li.current")).to_contain_text("结果")
            expect(page.locator("#next")).to_be_hidden()
            expect(page.locator("#waiting")).to_have_text("正在等待测量结果……")

            with kiosk:
                assert kiosk.wait_finished(60), edge.log()
                (record,) = kiosk.acknowledged
                cards = page.locator("#results .result")
                expect(cards).to_have_count(len(record.observations), timeout=30_000)
                sent = {obs.code: obs.canonical_value for obs in record.observations}
                shown = cards.evaluate_all(
                    "cards => cards.map(c => [c.dataset.code, c.dataset.band, "
                    "c.querySelector('.value').firstChild.textContent, getComputedStyle(c).borderLeftColor])"
                )
                _shoot(page, screens, "kiosk-3-result.png")

            page.locator("#lang").tap()
            expect(page.locator("#title")).to_have_text("Health check")
            expect(page.locator("#call")).to_have_text("Call nurse")
            expect(cards.first.locator(".explain")).to_contain_text("Your ")
            _shoot(page, screens, "kiosk-3-result-en.png")
            page.locator("#lang").tap()
            expect(page.locator("#title")).to_have_text("健康自助检测")

            page.locator("#call").tap()
            expect(page.locator("#call")).to_have_text("✓ 已通知护士，请在原位稍候")
            expect(page.locator("#call")).to_have_css("background-color", BAND_COLOURS["green"])
            calls.wait_for(lambda msgs: len(msgs) >= 1, 20, "the call envelope on the broker")
            _shoot(page, screens, "kiosk-4-call.png")

            page.locator("#logout").tap()
            expect(page.locator("#notice")).to_have_text("测量已结束，谢谢！")
            expect(page.locator("#hello")).to_be_hidden()
            page.close()
        log = edge.log()

    assert {code for code, *_ in shown} == set(sent)
    for code, band, value, colour in shown:
        expected = BANDS[code].band(sent[code])[0]
        assert (band, float(value)) == (expected, sent[code])
        assert colour == BAND_COLOURS[expected]
    assert any(band != "green" for _, band, *_ in shown), "seed 12 should give an abnormal blood pressure"
    (call,) = calls.messages
    envelope = Envelope.model_validate_json(call.payload)
    assert (envelope.type, envelope.subject, envelope.device) == ("call", subject, STATION)
    assert json.loads(call.payload)["data"] == {"station": STATION}
    for secret_text in (RESIDENT.resident_id, "CH999999", NAME):
        assert secret_text not in log
