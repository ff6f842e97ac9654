"""What a daemon tells systemd (sd_notify): ready, still alive, stopping.

The units in ``systemd/`` are ``Type=notify`` with ``WatchdogSec=``: systemd counts a daemon as
started only once it says ``READY=1``, and kills and restarts it when ``WATCHDOG=1`` stops coming.
A keep-alive proves something only when it comes from the part that does the work, so the edge
sends it from a task on its own asyncio loop (a blocked loop stops it) and the bridge from its
supervising loop only while its writer thread is turning. systemd asks for a keep-alive at least
every ``$WATCHDOG_USEC``; we send one every half of that, as sd_watchdog_enabled(3) advises.
Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping

import sdnotify

log = logging.getLogger(__name__)

WATCHDOG_SHARE = 0.5
"""Keep-alives go out at this fraction of systemd's watchdog timeout."""


def watchdog_timeout_s(environ: Mapping[str, str]) -> float | None:
    """systemd's ``WatchdogSec=`` for this process in seconds, or None when it expects no keep-alive.

    ``$WATCHDOG_PID``, when set, names the process systemd watches; a child that inherited the
    variables must not answer for its parent.
    """
    usec = environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = environ.get("WATCHDOG_PID")
    try:
        if pid and int(pid) != os.getpid():
            return None
        timeout_us = int(usec)
    except ValueError:
        log.warning("ignoring a malformed systemd watchdog setting (WATCHDOG_USEC=%r)", usec)
        return None
    return timeout_us / 1_000_000 if timeout_us > 0 else None


class ServiceNotifier:
    """One daemon's line to systemd, set up from the environment systemd started it with."""

    def __init__(self) -> None:
        self._notifier = sdnotify.SystemdNotifier()
        self.watchdog_timeout_s = watchdog_timeout_s(os.environ)
        self._next_due = 0.0

    @property
    def watchdog_interval_s(self) -> float | None:
        """Seconds between keep-alives, or None when systemd expects none."""
        timeout = self.watchdog_timeout_s
        return None if timeout is None else timeout * WATCHDOG_SHARE

    def ready(self) -> None:
        self._notifier.notify("READY=1")

    def stopping(self) -> None:
        self._notifier.notify("STOPPING=1")

    def alive(self) -> None:
        self._notifier.notify("WATCHDOG=1")

    def alive_when_due(self) -> None:
        """For a loop that polls more often than the watchdog needs: one keep-alive per interval."""
        now = time.monotonic()
        if self.watchdog_interval_s is not None and now >= self._next_due:
            self.alive()
            self._next_due = now + self.watchdog_interval_s

    async def feed_watchdog(self) -> None:
        """Send a keep-alive every interval until cancelled; returns at once when none is expected.

        Run it as a task on the loop it vouches for: if anything blocks that loop, the keep-alives
        stop and systemd restarts the daemon.
        """
        interval = self.watchdog_interval_s
        if interval is None:
            return
        while True:
            self.alive()
            await asyncio.sleep(interval)
