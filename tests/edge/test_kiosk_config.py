"""Config of the kiosk station, ID readers and cuff user maps: checked before any device is opened."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from careedge_common.config import BrokerConfig, DeviceConfig, GatewayConfig, SiteConfig, SiteInfo
from careedge_common.config_loader import ConfigError, load_config
from careedge_common.pseudonym import Pseudonymiser
from careedge_testkit.processes import Daemon, write_config
from edge.kiosk_station import user_map_problems
from edge.residents import load_roster

SUBJECT = "s-" + "0" * 32
BASE = """\
site: {id: home-a}
broker: {insecure: true}
gateway:
  id: gw-1
  pseudonym_secret_file: /etc/careedge/secret
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.removeprefix(f"{path}: ") for line in info.value.problems]


def test_kiosk_defaults(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(BASE, encoding="utf-8")
    config = load_config(path)
    assert config.gateway is not None
    kiosk = config.gateway.kiosk
    assert (kiosk.session_timeout_s, kiosk.residents_file, kiosk.language, kiosk.station) == (
        180,
        None,
        "zh",
        "kiosk",
    )


def test_id_reader_needs_a_roster(tmp_path: Path) -> None:
    text = BASE + "devices:\n  - {id: reader-1, kind: id_reader, port: /dev/ttyACM0}\n"
    (problem,) = _problems(tmp_path, text)
    assert problem.startswith("(root): gateway.kiosk.residents_file when an id_reader is listed (reader-1)")


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (
            "{id: k, kind: hl7_kiosk, port: /dev/x, id_code: {prefix: ']Q'}}",
            "devices[0]: id_code only for kind id_reader",
        ),
        (
            f"{{id: k, kind: hl7_kiosk, port: /dev/x, user_map: {{'1': {SUBJECT}}}}}",
            "devices[0]: user_map only for devices that report a user number",
        ),
        (
            "{id: r, kind: id_reader, port: /dev/x, id_code: {pattern: '[0-9'}}",
            "devices[0].id_code.pattern: a regular",
        ),
        (
            "{id: k, kind: hl7_kiosk, port: /dev/x, user_map: {'1': '110105194501012345'}}",
            "devices[0].user_map.1:",
        ),
    ],
)
def test_device_options_are_checked(tmp_path: Path, device: str, expected: str) -> None:
    text = BASE + "  kiosk: {residents_file: /etc/careedge/residents.csv}\n" + f"devices:\n  - {device}\n"
    problems = _problems(tmp_path, text)
    assert any(problem.startswith(expected) for problem in problems), problems


def _cuff(user_map: dict[str, str]) -> DeviceConfig:
    """A BLE blood-pressure cuff, a device that reports user numbers."""
    return DeviceConfig(
        id="cuff-1",
        kind="ble_health",
        transport="ble",
        profile="blood_pressure",
        addresses=["C4:7C:8D:6A:11:01"],
        user_map=user_map,
    )


def test_subject_for_user_reads_the_map() -> None:
    device = _cuff({"1": SUBJECT})
    assert device.subject_for_user(1) == SUBJECT
    assert device.subject_for_user("2") is None
    assert device.subject_for_user(255) is None


def test_bad_roster_stops_the_edge_before_any_device(tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_bytes(secrets.token_bytes(32))
    roster = tmp_path / "residents.csv"
    roster.write_text("resident_id,display_name\n11010519450101234X,王秀英\n11010519450101234x,李建国\n")
    config = write_config(
        tmp_path / "edge.yaml",
        {
            "site": {"id": "home-a"},
            "broker": {"insecure": True},
            "gateway": {
                "id": "gw-1",
                "data_dir": str(tmp_path / "data"),
                "pseudonym_secret_file": str(secret),
                "kiosk": {"residents_file": str(roster)},
            },
        },
    )
    edge = Daemon("edge", config).start()
    assert edge.process is not None
    assert edge.process.wait(60) == 2
    log = edge.log()
    assert f"gateway.kiosk.residents_file: {roster}: row 3: resident_id repeats the one in row 2" in log
    assert "11010519450101234" not in log
    assert "王秀英" not in log
    assert not (tmp_path / "data").exists(), "stopped before opening the outbox"


def test_user_map_subjects_must_be_on_the_roster(tmp_path: Path) -> None:
    """The daemon checks this before opening devices (it needs the site secret to read the roster)."""
    pseudonymiser = Pseudonymiser(secrets.token_bytes(32))
    roster_file = tmp_path / "residents.csv"
    roster_file.write_text("resident_id,display_name\nCH000001,王秀英\n", encoding="utf-8")
    roster = load_roster(roster_file, pseudonymiser, "")
    on_roster = pseudonymiser.subject("CH000001")
    config = SiteConfig(
        site=SiteInfo(id="home-a"),
        broker=BrokerConfig(insecure=True),
        gateway=GatewayConfig(id="gw-1", pseudonym_secret_file=Path("/unused")),
        devices=[_cuff({"1": on_roster, "2": SUBJECT})],
    )
    assert user_map_problems(config, roster) == [
        "devices[0].user_map.2: a subject on the roster (GET /residents lists them), found one that is not"
    ]
    assert user_map_problems(config.model_copy(update={"devices": [_cuff({"1": on_roster})]}), roster) == []
