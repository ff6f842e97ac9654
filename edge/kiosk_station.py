"""The gateway's kiosk station wired together: sessions, reading binding, the page and the staff API.

Everything here runs on the daemon's event loop. The station's tables (``audit``, ``unbound``)
live in the outbox's database file (DESIGN §5); the roster is loaded before the station is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from careedge_common.config import SiteConfig
from careedge_common.envelope import utc_now
from careedge_common.pseudonym import Pseudonymiser
from drivers.id_reader.source import Identification
from edge.assignment import Assigner
from edge.audit import AuditLog, reader_actor
from edge.binding import ReadingBinder
from edge.calls import NurseCaller
from edge.envelopes import EnvelopeFactory
from edge.kiosk_api import kiosk_router
from edge.kiosk_metrics import KioskMetrics
from edge.kiosk_sessions import SessionService
from edge.kiosk_view import KioskView
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox
from edge.residents import Roster
from edge.sessions import SessionBook
from edge.staff_api import staff_router
from edge.unbound import UnboundStore

log = logging.getLogger(__name__)

TICK_S = 1.0
"""How often timeouts are applied and the unbound gauge refreshed; bounds how late a timeout is
seen by the page, never where it falls (it ends at its deadline)."""


class KioskStation:
    def __init__(
        self,
        config: SiteConfig,
        db_path: Path,
        outbox: Outbox,
        envelopes: EnvelopeFactory,
        roster: Roster,
        pseudonymiser: Pseudonymiser,
        metrics: EdgeMetrics,
        on_stored: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``on_stored`` is told when the station put an envelope in the outbox (the publisher's wake-up);
        ``clock`` returns aware UTC times. Restores sessions from the audit log at once."""
        assert config.gateway is not None
        kiosk = config.gateway.kiosk
        self.audit = AuditLog(db_path)
        self.unbound = UnboundStore(db_path)
        self.metrics = KioskMetrics(metrics.registry)
        self.book = SessionBook(timedelta(seconds=kiosk.session_timeout_s), clock)
        self.sessions = SessionService(self.book, roster, self.audit, self.metrics, clock)
        self.caller = NurseCaller(
            outbox, envelopes, self.audit, self.sessions, self.metrics, clock, kiosk.station, on_stored
        )
        self.view = KioskView(self.sessions, self.caller, config.alerts.thresholds, kiosk, clock)
        self.binder = ReadingBinder(
            self.book, self.unbound, self.audit, self.metrics, clock, self.view.reading_stored
        )
        self.assigner = Assigner(
            outbox, envelopes, self.unbound, self.audit, roster, self.metrics, clock, on_stored
        )
        self.routers = [
            kiosk_router(self.view, self.sessions, self.caller, pseudonymiser, kiosk.identifier_authority),
            staff_router(roster, self.unbound, self.audit, self.assigner),
        ]
        self.sessions.restore()

    def identified(self, identification: Identification) -> None:
        """A reader's listener (``ReaderSupervisor``)."""
        self.sessions.identified(identification.subject, reader_actor(identification.device_id))

    async def run(self) -> None:
        """Apply session timeouts until cancelled."""
        while True:
            self.sessions.expire()
            with contextlib.suppress(sqlite3.Error):
                self.metrics.unbound_waiting.set(self.unbound.waiting_count())
            await asyncio.sleep(TICK_S)

    def close(self) -> None:
        self.audit.close()
        self.unbound.close()


def user_map_problems(config: SiteConfig, roster: Roster) -> list[str]:
    """``key.path: problem`` for each ``user_map`` subject that is not on the roster (a typo would
    put a cuff's readings on a subject nobody can see)."""
    return [
        f"devices[{index}].user_map.{user}: a subject on the roster (GET /residents lists them), "
        "found one that is not"
        for index, device in enumerate(config.devices)
        for user, subject in device.user_map.items()
        if subject not in roster
    ]
