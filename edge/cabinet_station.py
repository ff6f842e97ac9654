"""Everything the gateway does with its medicine cabinets, built once and run by the daemon:
the Modbus cabinets and their routine polling (excursions, doors, faults), the dose store and
dispensing workflow, the schedules, the cloud's dispense commands, refills, and the API routes.

Cabinets are built from their ``modbus_cabinet`` devices before anything runs, so a bad profile
stops the daemon with a config error before any device is touched (DESIGN §7).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from careedge_common.config import SiteConfig
from careedge_common.config_loader import ConfigError
from drivers.modbus.cabinet import ModbusBus, ModbusCabinet, bus_key
from edge.audit import EDGE_ACTOR, AuditLog
from edge.cabinet_api import cabinet_router
from edge.cabinet_commands import DispenseCommands
from edge.cabinet_events import CabinetEvents
from edge.cabinet_monitor import CabinetMonitor
from edge.crash_point import CrashPoint
from edge.dispensing import DispenseWorkflow
from edge.dose_schedule import schedule_problems, started_doses
from edge.dose_store import DoseStore
from edge.envelopes import EnvelopeFactory
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox
from edge.pharmacy_api import pharmacy_router
from edge.refills import RefillStore, RefillWorkflow
from edge.staff_tokens import StaffTokens

log = logging.getLogger(__name__)


class CabinetStation:
    def __init__(
        self,
        config: SiteConfig,
        site_dir: Path,
        db_path: Path,
        outbox: Outbox,
        envelopes: EnvelopeFactory,
        metrics: EdgeMetrics,
        clock: Callable[[], datetime],
        on_stored: Callable[[], None],
        current_subject: Callable[[], str | None],
    ) -> None:
        """Cabinets on one line (``bus_key``: one RS-485 port or TCP gateway) share one bus and
        its request queue. ``site_dir``: the site file's folder, against which profile paths are
        read. Raises ``careedge_common.config_loader.ConfigError`` for a bad profile or schedule."""
        assert config.gateway is not None
        self._settings = config.gateway.cabinet
        self._timezone = ZoneInfo(config.site.timezone)
        self._clock = clock
        devices = [device for device in config.devices if device.kind == "modbus_cabinet"]
        self.buses: dict[str, ModbusBus] = {}
        for device in devices:
            self.buses.setdefault(bus_key(device), ModbusBus.for_device(device))
        self.cabinets = {
            device.id: ModbusCabinet.from_config(device, site_dir, bus=self.buses[bus_key(device)])
            for device in devices
        }
        self._poll_intervals = {
            device.id: device.modbus.poll_interval_s for device in devices if device.modbus is not None
        }
        problems = schedule_problems(
            self._settings.schedules, {name: cabinet.profile.slots for name, cabinet in self.cabinets.items()}
        )
        if problems:
            raise ConfigError(problems)
        self.audit = AuditLog(db_path)
        events = CabinetEvents(outbox, envelopes, self.audit, clock, on_stored)
        self.monitors = [
            CabinetMonitor(cabinet_id, cabinet, db_path, events)
            for cabinet_id, cabinet in self.cabinets.items()
        ]
        self.doses = DoseStore(db_path, outbox, self.audit, clock)
        self.workflow = DispenseWorkflow(
            self.cabinets,
            self.doses,
            envelopes,
            self._settings,
            clock,
            on_stored,
            current_subject=current_subject,
            crash=CrashPoint.from_env(),
        )

        def rejected(reason: str) -> None:
            metrics.inputs_rejected.labels(device="cmd-dispense", reason=reason).inc()

        self.commands = DispenseCommands(config.site.id, config.gateway.id, self.workflow, rejected)
        self.tokens = StaffTokens(db_path, self.audit)
        self.refills = RefillStore(db_path)
        refill_workflow = RefillWorkflow(self.cabinets, self.refills, self.doses, events)
        self.routers: list[APIRouter] = [
            cabinet_router(self.workflow, self.doses),
            pharmacy_router(self.cabinets, self.refills, refill_workflow, self._settings, clock),
        ]

    @property
    def active(self) -> bool:
        return bool(self.cabinets)

    async def run(self) -> None:
        """Until cancelled: start the buses, poll the cabinets, put scheduled doses on the book and
        advance open ones (those a crash left half-done first)."""
        for bus in self.buses.values():
            bus.start()
        try:
            async with asyncio.TaskGroup() as group:
                for monitor in self.monitors:
                    group.create_task(monitor.run(self._poll_intervals[monitor.cabinet_id]))
                group.create_task(self._dispense())
        finally:
            for bus in self.buses.values():
                with contextlib.suppress(Exception):
                    await bus.stop()

    async def _dispense(self) -> None:
        while True:
            self._schedule()
            await self.workflow.step_all()
            await asyncio.sleep(self._settings.check_interval_s)

    def _schedule(self) -> None:
        for dose in started_doses(self._settings.schedules, self._clock(), self._timezone):
            if self.doses.get(dose.dose_id) is None:
                try:
                    self.workflow.accept(dose, EDGE_ACTOR)
                except ValueError as exc:
                    log.error("schedule %s: %s", dose.dose_id, exc)

    def close(self) -> None:
        for monitor in self.monitors:
            monitor.close()
        self.tokens.close()
        self.refills.close()
        self.doses.close()
        self.audit.close()
