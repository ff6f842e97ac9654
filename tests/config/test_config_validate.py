"""``careedge config validate``: technicians get one actionable line per problem, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careedge.cli import app
from careedge_common.config import json_schema
from careedge_common.config_loader import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "config" / "examples").glob("*.yaml"))

MINIMAL_EDGE = """\
site: {id: home-a}
broker: {insecure: true}
gateway: {id: gw-1, pseudonym_secret_file: /etc/careedge/secret}
devices:
  - {id: kiosk-1, kind: hl7_kiosk, port: /dev/ttyUSB0}
"""


def _write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.removeprefix(f"{path}: ") for line in info.value.problems]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(example: Path) -> None:
    load_config(example)


def test_there_are_at_least_two_examples() -> None:
    assert len(EXAMPLES) >= 2


def test_published_schema_matches_the_models() -> None:
    published = json.loads((REPO / "config" / "site-config.schema.json").read_text(encoding="utf-8"))
    assert published == json_schema(), "run `make schema` and commit config/site-config.schema.json"


def test_minimal_edge_config_gets_safe_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL_EDGE))
    assert config.broker.protocol == "5"
    assert config.gateway is not None
    assert config.gateway.api.host == "127.0.0.1"
    assert config.devices[0].serial.baudrate == 9600


def test_unknown_key_is_an_error_with_its_path(tmp_path: Path) -> None:
    text = MINIMAL_EDGE.replace("port: /dev/ttyUSB0}", "port: /dev/ttyUSB0, baud: 9600}")
    assert _problems(tmp_path, text) == ["devices[0].baud: no such key (unknown keys are errors), found 9600"]


def test_inline_password_is_refused(tmp_path: Path) -> None:
    text = MINIMAL_EDGE.replace("{insecure: true}", "{insecure: true, username: gw, password: hunter2}")
    (problem,) = _problems(tmp_path, text)
    assert problem.startswith("broker.password: ")
    assert "found 'hunter2'" in problem


def test_every_problem_is_reported_once(tmp_path: Path) -> None:
    text = """\
site: {id: Home A, timezone: Mars/Olympus}
broker: {port: 70000}
gateway: {id: gw-1}
"""
    assert _problems(tmp_path, text) == [
        "site.id: a string matching '^[a-z0-9][a-z0-9_-]{0,63}$', found 'Home A'",
        "site.timezone: an IANA time zone such as 'Asia/Shanghai', found 'Mars/Olympus'",
        "broker.port: a value that is less than or equal to 65535, found 70000",
        "gateway.pseudonym_secret_file: a value (required key), found nothing",
    ]


def test_sink_errors_use_the_path_written_in_the_file(tmp_path: Path) -> None:
    text = """\
site: {id: home-a}
broker: {insecure: true}
bridge:
  sink: {kind: influxdb, url: ftp://tsdb, org: o, bucket: b}
  store_path: /tmp/bridge.db
"""
    assert _problems(tmp_path, text) == [
        "bridge.sink.url: a string matching '^https?://', found 'ftp://tsdb'"
    ]


def test_thresholds_must_be_ordered_and_known(tmp_path: Path) -> None:
    text = (
        MINIMAL_EDGE
        + """\
alerts:
  thresholds:
    - {code: 8480-6, yellow_above: 190, red_above: 180}
    - {code: 9999-9, red_above: 1}
"""
    )
    problems = _problems(tmp_path, text)
    assert problems[0].startswith("alerts.thresholds[0]: limits ordered red_below < yellow_below")
    assert problems[1].startswith("alerts.thresholds[1].code: a LOINC code the product knows")


def test_duplicate_device_ids_and_duplicate_yaml_keys(tmp_path: Path) -> None:
    text = MINIMAL_EDGE + "  - {id: kiosk-1, kind: hl7_kiosk, port: /dev/ttyUSB1}\n"
    assert _problems(tmp_path, text) == ["devices: unique device ids, found kiosk-1 more than once"]
    duplicated = "site: {id: a}\nsite: {id: b}\n"
    (problem,) = _problems(tmp_path, duplicated)
    assert problem.startswith("(yaml): valid YAML, found duplicate key 'site' at line 2")


def test_devices_without_gateway_and_empty_file(tmp_path: Path) -> None:
    assert _problems(
        tmp_path,
        "site: {id: a}\nbroker: {insecure: true}\ndevices: [{id: k, kind: hl7_kiosk, port: /dev/x}]\n",
    )[0].startswith("(root): a 'gateway' section when 'devices' are listed")
    assert _problems(tmp_path, "") == ["(root): a mapping of sections, found None"]


def test_cli_exit_codes_and_one_line_per_problem(tmp_path: Path) -> None:
    good = _write(tmp_path, MINIMAL_EDGE, "good.yaml")
    bad = _write(
        tmp_path,
        "site: {id: a}\nbroker: {insecure: true}\ngateway: {id: g, pseudonym_secret_file: /s, colour: red}\n",
        "bad.yaml",
    )
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "validate", str(good)])
    assert ok.exit_code == 0
    failed = runner.invoke(app, ["config", "validate", str(good), str(bad)])
    assert failed.exit_code == 2
    assert failed.stderr.splitlines() == [
        f"{bad}: gateway.colour: no such key (unknown keys are errors), found 'red'"
    ]


def test_cli_process_prints_no_traceback(tmp_path: Path) -> None:
    bad = _write(tmp_path, "site: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "careedge", "config", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{bad}: (yaml): valid YAML, found ")


PLAIN_TCP_PROBLEM = (
    "broker: a 'tls' section (ca_file, cert_file, key_file), or 'insecure: true' to allow plain TCP, "
    "found neither"
)
GATEWAY = "gateway: {id: gw-1, pseudonym_secret_file: /etc/careedge/secret}\n"


def test_plain_tcp_broker_needs_insecure_written_out(tmp_path: Path) -> None:
    assert _problems(tmp_path, "site: {id: a}\nbroker: {host: mqtt.example, port: 1883}\n" + GATEWAY) == [
        PLAIN_TCP_PROBLEM
    ]
    assert _problems(tmp_path, "site: {id: a}\n" + GATEWAY) == [
        "broker: a value (required key), found nothing"
    ]


def test_tls_and_insecure_together_are_contradictory(tmp_path: Path) -> None:
    text = "site: {id: a}\nbroker: {insecure: true, tls: {ca_file: /ca.pem}}\n" + GATEWAY
    assert _problems(tmp_path, text) == ["broker: either a 'tls' section or 'insecure: true', found both"]


MODBUS_EDGE = """\
site: {id: home-a}
broker: {insecure: true}
gateway: {id: gw-1, pseudonym_secret_file: /etc/careedge/secret}
devices:
  - {id: cabinet-1, kind: modbus_cabinet, transport: modbus_tcp, modbus: {profile: p.yaml, host: 10.0.0.5}}
  - id: cabinet-2
    kind: modbus_cabinet
    transport: modbus_rtu
    port: /dev/ttyUSB3
    serial: {baudrate: 19200, parity: E}
    modbus: {profile: p.yaml, poll_interval_s: 2, retries: 0}
"""


def test_modbus_cabinets_on_tcp_and_rtu_validate(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MODBUS_EDGE))
    tcp, rtu = config.devices
    assert tcp.modbus is not None
    assert (tcp.modbus.tcp_port, tcp.modbus.timeout_s) == (502, 1.0)
    assert rtu.modbus is not None
    assert (rtu.modbus.retries, rtu.serial.parity) == (0, "E")


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (
            "{id: c, kind: modbus_cabinet, modbus: {profile: p.yaml, host: h}}",
            "devices[0].transport: 'modbus_tcp' or 'modbus_rtu' for kind modbus_cabinet, found 'serial'",
        ),
        (
            "{id: c, kind: modbus_cabinet, transport: modbus_tcp, modbus: {profile: p.yaml}}",
            "devices[0].modbus: a host for transport modbus_tcp, found none",
        ),
        (
            "{id: c, kind: modbus_cabinet, transport: modbus_rtu, modbus: {profile: p.yaml}}",
            "devices[0].port: a device path or URL (required for modbus_rtu), found nothing",
        ),
        (
            "{id: c, kind: modbus_cabinet, transport: modbus_tcp}",
            "devices[0].modbus: a modbus section with a profile (required for kind modbus_cabinet), "
            "found nothing",
        ),
        (
            "{id: c, kind: hl7_kiosk, port: /dev/ttyUSB0, modbus: {profile: p.yaml}}",
            "devices[0].modbus: no modbus section (only for kind modbus_cabinet), found a 'modbus' section",
        ),
        (
            "{id: c, kind: modbus_cabinet, transport: modbus_tcp, "
            "modbus: {profile: p.yaml, host: h, timeout_s: 0}}",
            "devices[0].modbus.timeout_s: a value that is greater than 0, found 0",
        ),
    ],
)
def test_modbus_cabinet_options_are_checked(tmp_path: Path, device: str, expected: str) -> None:
    text = MINIMAL_EDGE.replace("{id: kiosk-1, kind: hl7_kiosk, port: /dev/ttyUSB0}", device)
    assert _problems(tmp_path, text) == [expected]


def test_validate_checks_the_profiles_modbus_devices_name(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("model: x\nunit_id: 1\n", encoding="utf-8")
    site = _write(tmp_path, MODBUS_EDGE)
    result = CliRunner().invoke(app, ["config", "validate", str(site)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'p.yaml'}: slots: a value (required key), found nothing" in result.stderr
