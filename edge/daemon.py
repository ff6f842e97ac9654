"""``careedge edge``: wire config, outbox, drivers, publisher and API into one asyncio process.

Start-up order is deliberate: config, secrets and the residents roster are checked before any
device is opened, and the outbox and the kiosk station (sessions restored from the audit log) are
ready before any driver starts, so no reading can arrive with nowhere durable to go or be bound
without the sessions it may belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from careedge_common.access.tokens import TokenBook
from careedge_common.api_server import ApiServer, make_api_server
from careedge_common.config import (
    SESSION_BOUND_KINDS,
    GatewayConfig,
    SecretError,
    SiteConfig,
    read_key_file,
)
from careedge_common.config_loader import ConfigError, load_config
from careedge_common.envelope import utc_now
from careedge_common.mqtt_client import TlsSetupError, tls_context
from careedge_common.pseudonym import Pseudonymiser
from careedge_common.service_notify import ServiceNotifier
from edge.api import create_app
from edge.api_access import audit_requests, edge_guard
from edge.ble_glucose import GlucoseCounters
from edge.cabinet_station import CabinetStation
from edge.config_bundle import BundleRejected, SigningKeyError, load_public_key, verify_bundle
from edge.config_updates import ConfigUpdates, startup_config
from edge.drivers_factory import BleBackends, BleWiring, make_driver, make_identification_source
from edge.edge_db import EDGE_DB_FILE
from edge.envelopes import EnvelopeFactory
from edge.group_commit import GroupCommit
from edge.kiosk_station import KioskStation, user_map_problems
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox
from edge.publisher import Publisher
from edge.reader_supervisor import ReaderSupervisor
from edge.replay import ReplayAgent
from edge.residents import EMPTY_ROSTER, Roster, RosterError, load_roster
from edge.supervisor import DeviceSupervisor

log = logging.getLogger("careedge.edge")

EXIT_CONFIG = 2
BUNDLE_SUFFIX = ".bundle"
CONFIG_COMMAND = "config"
DISPENSE_COMMAND = "dispense"
PURGE_INTERVAL_S = 3600.0
API_START_POLL_S = 0.02
MIB = 1024 * 1024


def run(config_path: Path, site_key: Path | None = None) -> int:
    """Exit code 0 after a clean stop, 2 when the config or its secrets are unusable.

    ``config_path`` is a YAML file or a signed bundle (``*.bundle``, checked with ``site_key``).
    """
    metrics = EdgeMetrics()
    try:
        config, version = _starting_config(config_path, site_key)
        if config.gateway is None:
            raise ConfigError(
                [f"{config_path}: gateway: a 'gateway' section for the edge daemon, found none"]
            )
        updates = _config_updates(config, version, metrics)
        if updates is not None:
            config = startup_config(updates, config)
        if config.broker.tls is not None:
            tls_context(config.broker.tls)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    except (SigningKeyError, TlsSetupError) as exc:
        print(f"{config_path}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    assert config.gateway is not None
    try:
        secret = read_key_file(config.gateway.pseudonym_secret_file)
        pseudonymiser = Pseudonymiser(secret)
    except (SecretError, ValueError) as exc:
        print(f"{config_path}: gateway.pseudonym_secret_file: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        roster = _roster(config.gateway, pseudonymiser)
    except RosterError as exc:
        print(f"{config_path}: gateway.kiosk.residents_file: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    problems = user_map_problems(config, roster)
    if problems:
        for problem in problems:
            print(f"{config_path}: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if updates is not None:
        log.info("running config version %d (0: the unsigned file it started with)", updates.running_version)
    try:
        daemon = EdgeDaemon(
            config, pseudonymiser, roster, metrics=metrics, updates=updates, site_dir=config_path.parent
        )
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    asyncio.run(daemon.serve())
    return 0


def _starting_config(path: Path, site_key: Path | None) -> tuple[SiteConfig, int]:
    """The config file and its bundle version (0 for plain YAML, which carries none)."""
    if path.suffix != BUNDLE_SUFFIX:
        return load_config(path), 0
    if site_key is None:
        raise ConfigError([f"{path}: (file): a signed bundle needs --site-key, the site's public key"])
    try:
        signed = verify_bundle(path.read_bytes(), load_public_key(site_key), site=None, gateway=None)
    except OSError as exc:
        raise ConfigError([f"{path}: (file): a readable bundle, found {exc}"]) from exc
    except BundleRejected as exc:
        raise ConfigError([f"{path}: (bundle): a bundle signed by {site_key}, found {exc}"]) from exc
    return signed.config, signed.version


def _config_updates(config: SiteConfig, version: int, metrics: EdgeMetrics) -> ConfigUpdates | None:
    """Signed updates on ``cmd/config`` when the gateway was provisioned with the site signing key."""
    assert config.gateway is not None
    signing = config.gateway.config_signing
    if signing is None:
        return None
    key = load_public_key(signing.public_key_file)
    return ConfigUpdates(
        key, config.site.id, config.gateway.id, config.gateway.data_dir, version, metrics.config_bundles
    )


def _roster(gateway: GatewayConfig, pseudonymiser: Pseudonymiser) -> Roster:
    kiosk = gateway.kiosk
    if kiosk.residents_file is None:
        return EMPTY_ROSTER
    return load_roster(kiosk.residents_file, pseudonymiser, kiosk.identifier_authority)


class EdgeDaemon:
    def __init__(
        self,
        config: SiteConfig,
        pseudonymiser: Pseudonymiser,
        roster: Roster,
        *,
        ble_backends: BleBackends | None = None,
        metrics: EdgeMetrics | None = None,
        updates: ConfigUpdates | None = None,
        site_dir: Path = Path(),
    ) -> None:
        """``ble_backends`` replace bleak's platform backends for every ``ble_health`` device (the
        simulated air in tests and the demo); None in production. ``updates`` answers signed
        config bundles on ``cmd/config``. ``site_dir``: the site file's folder (cabinet profiles
        are read relative to it). Raises ``ConfigError`` for a bad cabinet profile or schedule."""
        assert config.gateway is not None
        self.config = config
        self.gateway = config.gateway
        self.metrics = metrics or EdgeMetrics()
        db_path = self.gateway.data_dir / EDGE_DB_FILE
        limits = self.gateway.outbox
        self.outbox = Outbox(db_path, max_pending=limits.max_pending, max_bytes=limits.max_size_mb * MIB)
        self.glucose = GlucoseCounters(db_path)
        ble = BleWiring.for_gateway(self.gateway.ble, self.glucose, ble_backends)
        self._stop = asyncio.Event()
        self._systemd = ServiceNotifier()
        self.publisher = Publisher(config, self.outbox, self.metrics)
        if updates is not None:
            self.publisher.handle_commands(CONFIG_COMMAND, updates.handle_command)
        self.replay = ReplayAgent(config, self.outbox, self.metrics.registry)
        envelopes = EnvelopeFactory(config.site.id, self.gateway.id)
        timezone = ZoneInfo(config.site.timezone)
        self.station = KioskStation(
            config,
            db_path,
            self.outbox,
            envelopes,
            roster,
            pseudonymiser,
            self.metrics,
            self.publisher.notify,
        )
        self.cabinets: CabinetStation | None = None
        if (
            any(device.kind == "modbus_cabinet" for device in config.devices)
            or self.gateway.cabinet.schedules
        ):
            self.cabinets = CabinetStation(
                config,
                site_dir,
                db_path,
                self.outbox,
                envelopes,
                self.metrics,
                utc_now,
                self.publisher.notify,
                self._kiosk_subject,
            )
            self.publisher.handle_commands(DISPENSE_COMMAND, self.cabinets.commands.handle_command)
        self.readers = [
            ReaderSupervisor(
                make_identification_source(
                    device,
                    pseudonymiser=pseudonymiser,
                    authority=self.gateway.kiosk.identifier_authority,
                    on_rejected=self._rejection_counter(device.id),
                ),
                self.station.identified,
                self.metrics,
            )
            for device in config.devices
            if device.kind == "id_reader"
        ]
        readings = GroupCommit(self.outbox, self.metrics.outbox_commits)
        self.supervisors = [
            DeviceSupervisor(
                make_driver(
                    device,
                    timezone=timezone,
                    pseudonymiser=pseudonymiser,
                    authority=self.gateway.kiosk.identifier_authority,
                    on_rejected=self._rejection_counter(device.id),
                    ble=ble,
                ),
                readings,
                envelopes,
                self.metrics,
                self.publisher.notify,
                self.station.binder,
                session_bound=device.kind in SESSION_BOUND_KINDS,
                keep=self.glucose.record if device.profile == "glucose_meter" else None,
            )
            for device in config.devices
            if device.kind not in ("id_reader", "modbus_cabinet")
        ]

    def _kiosk_subject(self) -> str | None:
        session = self.station.sessions.current()
        return None if session is None else session.subject

    def _rejection_counter(self, device_id: str) -> Any:
        def count(reason: str) -> None:
            self.metrics.inputs_rejected.labels(device=device_id, reason=reason).inc()

        return count

    def health(self) -> dict[str, Any]:
        return {
            "site": self.config.site.id,
            "gateway": self.gateway.id,
            "boot": self.outbox.boot,
            "mqtt_connected": self.publisher.connected,
            "outbox_pending": self.outbox.pending_count(),
            "devices": {
                **{s.device_id: "down" if s.health.down else "up" for s in self.supervisors},
                **{r.device_id: "down" if r.health.down else "up" for r in self.readers},
                **{
                    m.cabinet_id: "down" if m.poll_failures else "up"
                    for m in (self.cabinets.monitors if self.cabinets else [])
                },
            },
        }

    def stop(self) -> None:
        """Ask ``serve`` to stop cleanly, as SIGTERM does; for callers that run the daemon in-process."""
        self._stop.set()

    def _token_books(self) -> list[TokenBook]:
        """Beside the tokens file: the pharmacists' tokens in the edge database, with cabinets."""
        return [self.cabinets.tokens] if self.cabinets else []

    async def serve(self) -> None:
        """Run until SIGTERM, SIGINT or ``stop()``; then stop every task and close the database."""
        stop = self._stop
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        server = make_api_server(
            create_app(
                self.metrics,
                self.health,
                edge_guard(
                    self.gateway.api.access, self.metrics, *([self.cabinets.tokens] if self.cabinets else [])
                ),
                audit_requests(self.station.audit, utc_now),
                [*self.station.routers, *(self.cabinets.routers if self.cabinets else [])],
            ),
            self.gateway.api.host,
            self.gateway.api.port,
        )
        self.publisher.start()
        self.replay.start()
        api = asyncio.create_task(server.serve(), name="api")
        tasks = [
            asyncio.create_task(self.publisher.run(), name="publisher"),
            asyncio.create_task(self.replay.run(), name="replay"),
            asyncio.create_task(self._purge_loop(), name="outbox-purge"),
            api,
            asyncio.create_task(self.station.run(), name="kiosk-sessions"),
            *(asyncio.create_task(s.run(), name=f"device-{s.device_id}") for s in self.supervisors),
            *(asyncio.create_task(r.run(), name=f"reader-{r.device_id}") for r in self.readers),
            asyncio.create_task(self._systemd.feed_watchdog(), name="systemd-watchdog"),
        ]
        if self.cabinets is not None:
            tasks.append(asyncio.create_task(self.cabinets.run(), name="cabinets"))
        if await self._api_started(server, api):
            self._systemd.ready()
        log.info(
            "edge %s/%s boot %d: %d devices, %d readers",
            self.config.site.id,
            self.gateway.id,
            self.outbox.boot,
            len(self.supervisors),
            len(self.readers),
        )
        await stop.wait()
        log.info("stopping")
        self._systemd.stopping()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        server.should_exit = True
        for task in tasks:
            if task is not api:
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.publisher.stop()
        self.replay.stop()
        self.station.close()
        if self.cabinets is not None:
            self.cabinets.close()
        self.glucose.close()
        self.outbox.close()

    async def _api_started(self, server: ApiServer, task: asyncio.Task[None]) -> bool:
        """Ready means the API answers: wait until uvicorn listens, or has given up trying (False:
        systemd then sees no READY=1 and restarts the daemon when its start times out)."""
        while not server.started and not task.done():
            await asyncio.sleep(API_START_POLL_S)
        return server.started

    async def _purge_loop(self) -> None:
        window_s = self.gateway.outbox.replay_window_days * 86400
        while True:
            covered = self.replay.watermark
            purged = 0 if covered is None else self.outbox.purge_published(window_s, covered)
            if purged:
                log.info("purged %d published readings older than the replay window", purged)
            await asyncio.sleep(PURGE_INTERVAL_S)
