"""Site configuration: one YAML file per gateway or bridge, written by technicians.

Every model forbids unknown keys, because a misspelt key that is silently ignored leaves a device
unmonitored. Secrets are never inline: the config names a file or an environment variable.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from careedge_common.config_access import AccessSettings
from careedge_common.config_alerts import AlertRules
from careedge_common.config_base import DEVICE_USER_PATTERN as DEVICE_USER_PATTERN
from careedge_common.config_base import IDENTIFIER as IDENTIFIER
from careedge_common.config_base import SUBJECT_PATTERN as SUBJECT_PATTERN
from careedge_common.config_base import Band as Band
from careedge_common.config_base import DeviceUser as DeviceUser
from careedge_common.config_base import Direction as Direction
from careedge_common.config_base import Identifier as Identifier
from careedge_common.config_base import Port as Port
from careedge_common.config_base import StrictModel as StrictModel
from careedge_common.config_base import Subject as Subject
from careedge_common.config_base import Threshold as Threshold
from careedge_common.config_cabinet import CabinetWorkflowSettings
from careedge_common.config_delivery import DeliveryCheck, EdgeReplay
from careedge_common.config_modbus import ModbusSettings
from careedge_common.config_signing import ConfigSigning
from careedge_common.config_takeover import TakeoverConfig


class SiteInfo(StrictModel):
    id: Identifier
    name: str = ""
    timezone: str = "UTC"
    """IANA zone used for device timestamps that carry no offset (most HL7 kiosks)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"an IANA time zone such as 'Asia/Shanghai', found {value!r}") from exc
        return value


class TlsFiles(StrictModel):
    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        return self


class SecretRef(StrictModel):
    """Where a secret lives. Exactly one of ``file`` and ``env``."""

    file: Path | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.file is None) == (self.env is None):
            raise ValueError("exactly one of 'file' or 'env'")
        return self


class BrokerConfig(StrictModel):
    host: str = "127.0.0.1"
    port: Port = 1883
    protocol: Literal["5", "3.1.1"] = "5"
    """'5' against Mosquitto/EMQX; '3.1.1' against the embedded demo broker (amqtt)."""
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    tls: TlsFiles | None = None
    username: str | None = None
    password: SecretRef | None = None
    max_inflight: int = Field(default=100, ge=1, le=65535)
    """Unacknowledged QoS 1 messages in flight; bounds memory on both sides of the link."""
    insecure: bool = False
    """Plain TCP without TLS, for a broker on this machine only (tests, the demo). Must be written
    out: health data must not cross a network in clear because a ``tls`` section was forgotten."""

    @model_validator(mode="after")
    def _tls_unless_insecure(self) -> Self:
        if self.tls is None and not self.insecure:
            raise ValueError(
                "a 'tls' section (ca_file, cert_file, key_file), or 'insecure: true' to allow plain TCP, "
                "found neither"
            )
        if self.tls is not None and self.insecure:
            raise ValueError("either a 'tls' section or 'insecure: true', found both")
        return self


class OutboxConfig(StrictModel):
    replay_window_days: float = Field(default=7.0, ge=0)
    """Published readings stay this long so a broker that lost them can be asked to replay."""
    max_pending: int = Field(default=1_000_000, ge=1)
    """Unpublished readings held at most (about ten days of a 200-resident home). Beyond it devices
    are refused (HL7 AE, ASTM NAK) and keep their readings until the outbox drains."""
    max_size_mb: int = Field(default=2048, ge=1)
    """Size the outbox file may grow to, in MiB; then devices are refused as when the disk is full."""
    drain_rate_per_s: float = Field(default=200.0, gt=0)
    """Most readings published per second, so gateways draining after an outage do not flood the
    bridge (100,000 buffered readings drain in under 9 minutes at the default)."""


class ApiConfig(StrictModel):
    host: str = "127.0.0.1"
    port: Port
    access: AccessSettings = AccessSettings()


class SerialSettings(StrictModel):
    baudrate: int = Field(default=9600, ge=50, le=4_000_000)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1


class IdCodeFormat(StrictModel):
    """How an ID-card or QR-code reader frames a code on its line (each line ends in CR, LF or CRLF)."""

    prefix: str = Field(default="", max_length=16)
    """Characters the reader is set to send before each code; stripped, and a line without them is refused."""
    suffix: str = Field(default="", max_length=16)
    """Characters the reader sends after each code, before the line end; stripped likewise."""
    pattern: str | None = Field(default=None, max_length=256)
    """Regular expression a code must match in full once stripped, e.g. ``[0-9]{17}[0-9Xx]`` for
    resident ID cards; a line that does not is refused before anything else happens."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"a regular expression ({exc})") from exc
        return value


DEVICES_WITHOUT_USERS = frozenset({"hl7_kiosk", "id_reader", "astm_poc", "modbus_cabinet"})
"""Kinds that never report a device user number: HL7 kiosks and analyzers send the patient ID itself."""
SESSION_BOUND_KINDS: frozenset[str] = frozenset({"ble_health"})
"""Kinds residents use at the kiosk station, whose subject-less readings take the session's subject.
HL7 kiosks and ASTM analyzers carry their own patient ID: without one a reading stays unbound."""
SERIAL_KINDS = frozenset({"hl7_kiosk", "id_reader", "astm_poc"})
"""Kinds on a serial line (``port``); ``modbus_cabinet`` is on Modbus TCP or RTU, the others are
Bluetooth LE (``addresses``)."""
BLE_PROFILES = (
    "blood_pressure",
    "thermometer",
    "pulse_oximeter",
    "glucose_meter",
    "weight_scale",
    "heart_rate",
)
"""The SIG profiles the BLE driver speaks (``drivers.ble_gatt.PROFILES``, written out here because
the config models must not import drivers)."""
BleProfile = Literal[
    "blood_pressure", "thermometer", "pulse_oximeter", "glucose_meter", "weight_scale", "heart_rate"
]
BleAddress = Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")]
"""A public Bluetooth device address as ``AA:BB:CC:DD:EE:FF`` (either case)."""
BleAdapter = Annotated[str, Field(pattern=r"^hci[0-9]{1,2}$")]


class BleSettings(StrictModel):
    """Connection slots of the gateway's Bluetooth adapters, shared by every ``ble_health`` device."""

    max_connections_per_adapter: int = Field(default=3, ge=1, le=10)
    """Simultaneous connections on one adapter; controllers hold 5 to 7 at most, fewer reliably."""
    adapter_limits: dict[BleAdapter, Annotated[int, Field(ge=1, le=10)]] = {}
    """Per-adapter override of ``max_connections_per_adapter`` (``hci1: 5``)."""


class AstmSettings(StrictModel):
    analytes: Literal["blood", "urine"] = "blood"
    """Which table the analyzer's own test codes (R-3 component 4) are read with."""
    patient_id_authority: str | None = Field(default=None, max_length=64)
    """Assigning authority pseudonymised with P-3/P-4; default ``gateway.kiosk.identifier_authority``,
    so a resident measured here and at a kiosk has one subject."""


class DeviceConfig(StrictModel):
    id: Identifier
    kind: Literal["hl7_kiosk", "id_reader", "astm_poc", "ble_health", "modbus_cabinet"]
    transport: Literal["serial", "ble", "modbus_tcp", "modbus_rtu"] = "serial"
    """``ble`` for ``ble_health``, ``modbus_tcp`` or ``modbus_rtu`` for ``modbus_cabinet`` (write
    them out), ``serial`` for every other kind."""
    port: str | None = Field(default=None, min_length=1)
    """Serial kinds and ``modbus_rtu`` only, required there: a device path (/dev/ttyUSB0,
    /dev/serial/by-id/...) or a pyserial URL (socket://host:port)."""
    serial: SerialSettings = SerialSettings()
    """Serial kinds and ``modbus_rtu`` only (default 9600 8N1)."""
    modbus: ModbusSettings | None = None
    """``modbus_cabinet`` only, required there: profile, polling, timeouts, and the TCP address."""
    profile: BleProfile | None = None
    """``ble_health`` only, required there: which SIG GATT profile the device speaks."""
    addresses: list[BleAddress] = []
    """``ble_health`` only, at least one: the allowlist of device addresses; a device advertising
    from any other address (a neighbour's cuff) is never connected. Listed devices take turns."""
    adapter: BleAdapter | None = None
    """``ble_health`` only: the Bluetooth adapter to use (default ``hci0``)."""
    ack_timeout_s: float = Field(default=10.0, gt=0)
    astm: AstmSettings | None = None
    """Only for ``astm_poc`` (default: blood analytes, the kiosk's identifier authority)."""
    id_code: IdCodeFormat | None = None
    """Only for ``id_reader``: how codes are framed on the line (default: bare codes)."""
    user_map: dict[DeviceUser, Subject] = {}
    """For devices that report a user number (a cuff's user 1/2 buttons): user -> resident subject.
    Subjects, not ID numbers, so this file carries nothing identifying; ``GET /residents`` on the
    edge API lists the subjects of the roster. An unmapped user's reading is bound by session."""

    @model_validator(mode="after")
    def _options_fit_kind(self) -> Self:
        if self.id_code is not None and self.kind != "id_reader":
            raise ValueError(f"id_code only for kind id_reader, not {self.kind}")
        if self.astm is not None and self.kind != "astm_poc":
            raise ValueError(f"astm only for kind astm_poc, not {self.kind}")
        if self.user_map and self.kind in DEVICES_WITHOUT_USERS:
            raise ValueError(f"user_map only for devices that report a user number, not {self.kind}")
        if self.kind == "modbus_cabinet":
            problems = self._modbus_problems()
        else:
            problems = self._serial_problems() if self.kind in SERIAL_KINDS else self._ble_problems()
            if self.modbus is not None:
                problems.append(
                    (
                        "modbus",
                        "no modbus section (only for kind modbus_cabinet), found a 'modbus' section",
                        None,
                    )
                )
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("option_for_kind", expected), loc=(key,), input=found
                    )
                    for key, expected, found in problems
                ],
            )
        return self

    def _serial_problems(self) -> list[tuple[str, str, object]]:
        """(key, what was expected, what was found) for each option that does not fit a serial kind."""
        problems: list[tuple[str, str, object]] = []
        if self.transport != "serial":
            problems.append(("transport", f"'serial' for kind {self.kind}", self.transport))
        if self.port is None:
            problems.append(
                ("port", f"a device path or URL (required for kind {self.kind}), found nothing", None)
            )
        return problems + self._no_ble_options()

    def _modbus_problems(self) -> list[tuple[str, str, object]]:
        problems = self._no_ble_options()
        if self.transport not in ("modbus_tcp", "modbus_rtu"):
            problems.append(
                ("transport", f"'modbus_tcp' or 'modbus_rtu' for kind {self.kind}", self.transport)
            )
        if self.modbus is None:
            problems.append(
                (
                    "modbus",
                    f"a modbus section with a profile (required for kind {self.kind}), found nothing",
                    None,
                )
            )
            return problems
        if self.transport == "modbus_tcp":
            if self.modbus.host is None:
                problems.append(("modbus", "a host for transport modbus_tcp, found none", None))
            if self.port is not None:
                problems.append(
                    ("port", "no port for modbus_tcp (modbus.host and modbus.tcp_port)", self.port)
                )
            if "serial" in self.model_fields_set:
                problems.append(
                    ("serial", "no serial settings for modbus_tcp, found a 'serial' section", None)
                )
        elif self.transport == "modbus_rtu":
            if self.port is None:
                problems.append(
                    ("port", "a device path or URL (required for modbus_rtu), found nothing", None)
                )
            if self.modbus.host is not None:
                problems.append(("modbus", "no host for modbus_rtu (the bus is 'port')", self.modbus.host))
        return problems

    def _no_ble_options(self) -> list[tuple[str, str, object]]:
        problems: list[tuple[str, str, object]] = []
        for key in ("profile", "adapter"):
            if getattr(self, key) is not None:
                problems.append((key, f"no {key} (only for kind ble_health)", getattr(self, key)))
        if self.addresses:
            problems.append(("addresses", "no addresses (only for kind ble_health)", self.addresses))
        return problems

    def _ble_problems(self) -> list[tuple[str, str, object]]:
        problems: list[tuple[str, str, object]] = []
        if self.transport != "ble":
            problems.append(("transport", f"'ble' for kind {self.kind}", self.transport))
        if self.profile is None:
            problems.append(
                (
                    "profile",
                    f"one of {', '.join(BLE_PROFILES)} (required for kind {self.kind}), found nothing",
                    None,
                )
            )
        if not self.addresses:
            problems.append(
                ("addresses", f"at least one Bluetooth address for kind {self.kind}", self.addresses)
            )
        if self.port is not None:
            problems.append(("port", "no port (only for serial kinds)", self.port))
        if "serial" in self.model_fields_set:
            problems.append(
                ("serial", "no serial settings (only for serial kinds), found a 'serial' section", None)
            )
        return problems

    @property
    def serial_port(self) -> str:
        """``port`` of a serial kind, where validation made it required; ``ValueError`` for a BLE kind."""
        if self.port is None:
            raise ValueError(f"{self.id}: a {self.kind} has no serial port")
        return self.port

    def subject_for_user(self, user: str | int) -> str | None:
        """The subject ``user_map`` gives a device user number, or None when it names nobody."""
        return self.user_map.get(str(user))


class KioskConfig(StrictModel):
    """The gateway's kiosk station: who is measuring (sessions) and the resident-facing page.

    One station per gateway: every reading without a subject on this gateway is bound to this
    station's sessions, so a second station needs a gateway (edge process) of its own.
    """

    station: Identifier = "kiosk"
    """The ``device`` of the station's own envelopes (``call``)."""
    session_timeout_s: float = Field(default=180.0, gt=0, le=3600)
    """A session ends this long after its last activity (start, a reading bound to it)."""
    residents_file: Path | None = None
    """Roster (CSV or YAML: resident_id, display_name) of the residents who may start a session."""
    identifier_authority: str = Field(default="", max_length=64)
    """Assigning authority pseudonymised with each card/QR value and roster ID. Set it to what the
    site's HL7 kiosks send in PID-3.4, so a resident has one subject whichever way they measure."""
    language: Literal["zh", "en"] = "zh"
    """The page's language when a session starts; residents can switch."""


class GatewayConfig(StrictModel):
    id: Identifier
    data_dir: Path = Path("/var/lib/careedge")
    pseudonym_secret_file: Path
    """Site secret for keyed pseudonyms of patient identifiers (HMAC-SHA256)."""
    api: ApiConfig = ApiConfig(port=9101)
    outbox: OutboxConfig = OutboxConfig()
    kiosk: KioskConfig = KioskConfig()
    ble: BleSettings = BleSettings()
    config_signing: ConfigSigning | None = None
    replay: EdgeReplay = EdgeReplay()
    cabinet: CabinetWorkflowSettings = CabinetWorkflowSettings()


class InfluxSink(StrictModel):
    kind: Literal["influxdb"]
    url: str = Field(pattern=r"^https?://")
    org: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    token: SecretRef | None = None
    timeout_ms: int = Field(default=10_000, ge=100)


class SqliteSink(StrictModel):
    kind: Literal["sqlite"]
    path: Path


Sink = Annotated[InfluxSink | SqliteSink, Field(discriminator="kind")]


class BridgeConfig(StrictModel):
    client_id: Identifier = "careedge-bridge"
    sink: Sink
    store_path: Path
    """Relational store (SQLite) for alerts and processed envelope IDs."""
    api: ApiConfig = ApiConfig(port=9102)
    batch_size: int = Field(default=8000, ge=1, le=50_000)
    """Messages stored in one go under load (a quiet stream makes smaller batches, see
    ``batch_wait_ms``). Much of a batch's cost is per resident or per series, not per message: the
    trend and NEWS2 rules run once per resident and batch, each series' page of the readings table
    is written once per batch, and each batch ends in one synced commit. In the ingest benchmark
    (docs/benchmarks.md) 4,000 made about a fifth more readings per second than 2,000, and 8,000
    another seventh; a backlog of a few minutes from a busy site then takes a few batches."""
    batch_wait_ms: int = Field(default=100, ge=1, le=10_000)
    receive_maximum: int = Field(default=16_000, ge=1, le=65535)
    """MQTT v5 flow control: the broker never sends more unacknowledged messages than this. Twice
    ``batch_size``, so the next batch arrives while one is being stored."""
    dedupe_window: int = Field(default=200_000, ge=1000)
    """How many recent envelope IDs are remembered to drop re-deliveries before alerting."""
    processed_retention_days: float = Field(default=8.0, gt=0)
    """How long processed envelope IDs stay in the relational store, so a restarted bridge (or
    another bridge on the shared subscription) does not alert twice. Longer than the edge replay
    window (7 days by default), because a gateway may replay anything it still holds."""
    delivery: DeliveryCheck = DeliveryCheck()
    takeover: TakeoverConfig = TakeoverConfig()


class AlertsConfig(StrictModel):
    thresholds: list[Threshold] = []
    rules: AlertRules = AlertRules()
    """NEWS2, trends, glucose, schedules, events, lifecycle and routes (``config_alerts``)."""

    @field_validator("thresholds")
    @classmethod
    def _one_per_code(cls, value: list[Threshold]) -> list[Threshold]:
        codes = [threshold.code for threshold in value]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"one threshold entry per code, found {', '.join(duplicates)} more than once")
        return value


class SiteConfig(StrictModel):
    """One file configures a gateway (``gateway`` + ``devices``), a bridge (``bridge``), or both."""

    site: SiteInfo
    broker: BrokerConfig
    gateway: GatewayConfig | None = None
    devices: list[DeviceConfig] = []
    bridge: BridgeConfig | None = None
    alerts: AlertsConfig = AlertsConfig()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("devices")
    @classmethod
    def _unique_devices(cls, value: list[DeviceConfig]) -> list[DeviceConfig]:
        ids = [device.id for device in value]
        repeated = sorted({device_id for device_id in ids if ids.count(device_id) > 1})
        if repeated:
            raise ValueError(f"unique device ids, found {', '.join(repeated)} more than once")
        return value

    @model_validator(mode="after")
    def _devices_need_gateway(self) -> Self:
        if self.devices and self.gateway is None:
            raise ValueError("a 'gateway' section when 'devices' are listed")
        readers = [device.id for device in self.devices if device.kind == "id_reader"]
        if readers and self.gateway is not None and self.gateway.kiosk.residents_file is None:
            raise ValueError(
                f"gateway.kiosk.residents_file when an id_reader is listed ({', '.join(readers)}): "
                "a card can only start a session for a resident on the roster"
            )
        if self.gateway is None and self.bridge is None:
            raise ValueError("a 'gateway' section, a 'bridge' section, or both")
        return self


def json_schema() -> dict[str, Any]:
    schema = SiteConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://careedge.example/schema/site-config.json"
    return schema


_SECRET_FILE_MAX = 4096
KEY_FILE_MIN = 16
"""A pseudonym key shorter than this is too easy to guess from known resident IDs."""


class SecretError(Exception):
    """A secret named by the config could not be read; the message names where it was looked for."""


def read_secret(ref: SecretRef) -> str:
    """Read a secret from its file or environment variable, stripped of surrounding white space."""
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None or not value.strip():
            raise SecretError(f"environment variable {ref.env} is not set or empty")
        return value.strip()
    assert ref.file is not None
    text = _read_bounded(ref.file).decode().strip()
    if not text:
        raise SecretError(f"secret file {ref.file} is empty")
    return text


def read_key_file(path: Path) -> bytes:
    """The key is the file's bytes, exactly: every gateway of a site and any tool that derives the same
    pseudonyms must get the same key, so nothing (not even white space at the ends, which a random
    binary key may well have) is stripped."""
    key = _read_bounded(path)
    if len(key) < KEY_FILE_MIN:
        raise SecretError(
            f"key file {path} must hold {KEY_FILE_MIN} to {_SECRET_FILE_MAX} bytes, found {len(key)}"
        )
    return key


def _read_bounded(path: Path) -> bytes:
    try:
        data = path.read_bytes()[: _SECRET_FILE_MAX + 1]
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from exc
    if len(data) > _SECRET_FILE_MAX:
        raise SecretError(f"secret file {path} holds more than {_SECRET_FILE_MAX} bytes")
    return data
