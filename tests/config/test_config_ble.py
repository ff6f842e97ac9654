"""Config rules for Bluetooth LE health devices (kind ``ble_health``) and the gateway's BLE slots:
each option fits its kind, and a mistake names its key path in the technicians' one-line form."""

from __future__ import annotations

from pathlib import Path

import pytest

from careedge_common.config import SESSION_BOUND_KINDS
from careedge_common.config_loader import ConfigError, load_config

HEAD = """\
site: {id: home-a}
broker: {insecure: true}
gateway: {id: gw-1, pseudonym_secret_file: /etc/careedge/secret}
devices:
"""
CUFF = (
    "  - {id: bp-1, kind: ble_health, transport: ble, profile: blood_pressure,"
    ' addresses: ["C4:7C:8D:6A:11:01"]}\n'
)


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.removeprefix(f"{path}: ") for line in info.value.problems]


def test_a_ble_cuff_gets_the_default_adapter_and_slots(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(HEAD + CUFF, encoding="utf-8")
    config = load_config(path)
    assert config.gateway is not None
    assert config.gateway.ble.max_connections_per_adapter == 3
    assert config.gateway.ble.adapter_limits == {}
    [cuff] = config.devices
    assert (cuff.profile, cuff.addresses, cuff.adapter, cuff.port) == (
        "blood_pressure",
        ["C4:7C:8D:6A:11:01"],
        None,
        None,
    )
    assert cuff.kind in SESSION_BOUND_KINDS


def test_ble_health_needs_ble_transport_a_profile_and_an_address(tmp_path: Path) -> None:
    text = HEAD + "  - {id: bp-1, kind: ble_health}\n"
    assert _problems(tmp_path, text) == [
        "devices[0].transport: 'ble' for kind ble_health, found 'serial'",
        "devices[0].profile: one of blood_pressure, thermometer, pulse_oximeter, glucose_meter, "
        "weight_scale, heart_rate (required for kind ble_health), found nothing",
        "devices[0].addresses: at least one Bluetooth address for kind ble_health, found []",
    ]


def test_unknown_profile_and_malformed_address_are_refused(tmp_path: Path) -> None:
    text = HEAD + (
        "  - {id: bp-1, kind: ble_health, transport: ble, profile: cuff, addresses: [C4-7C-8D-6A-11-01]}\n"
    )
    problems = _problems(tmp_path, text)
    assert [problem.split(":")[0] for problem in problems] == [
        "devices[0].profile",
        "devices[0].addresses[0]",
    ]
    assert "found 'cuff'" in problems[0]
    assert problems[1].endswith("found 'C4-7C-8D-6A-11-01'")


def test_serial_options_do_not_fit_a_ble_device(tmp_path: Path) -> None:
    text = HEAD + CUFF.replace("}\n", ", port: /dev/ttyUSB0, serial: {baudrate: 9600}}\n")
    assert _problems(tmp_path, text) == [
        "devices[0].port: no port (only for serial kinds), found '/dev/ttyUSB0'",
        "devices[0].serial: no serial settings (only for serial kinds), found a 'serial' section",
    ]


def test_a_serial_kind_needs_its_port_and_refuses_ble_options(tmp_path: Path) -> None:
    text = HEAD + (
        "  - {id: kiosk-1, kind: hl7_kiosk, transport: ble, profile: thermometer, adapter: hci1,"
        ' addresses: ["C4:7C:8D:6A:11:01"]}\n'
    )
    assert _problems(tmp_path, text) == [
        "devices[0].transport: 'serial' for kind hl7_kiosk, found 'ble'",
        "devices[0].port: a device path or URL (required for kind hl7_kiosk), found nothing",
        "devices[0].profile: no profile (only for kind ble_health), found 'thermometer'",
        "devices[0].adapter: no adapter (only for kind ble_health), found 'hci1'",
        "devices[0].addresses: no addresses (only for kind ble_health), found ['C4:7C:8D:6A:11:01']",
    ]


def test_adapter_names_and_slot_limits_are_bounded(tmp_path: Path) -> None:
    text = HEAD.replace(
        "pseudonym_secret_file: /etc/careedge/secret}",
        "pseudonym_secret_file: /etc/careedge/secret,"
        " ble: {max_connections_per_adapter: 11, adapter_limits: {hci1: 0, usb0: 2}}}",
    ) + CUFF.replace("}\n", ", adapter: bluetooth0}\n")
    problems = _problems(tmp_path, text)
    assert [problem.split(": ")[0] for problem in problems] == [
        "gateway.ble.max_connections_per_adapter",
        "gateway.ble.adapter_limits.hci1",
        "gateway.ble.adapter_limits.usb0.[key]",
        "devices[0].adapter",
    ]
