"""A test-only way to kill the edge right after a named step of a workflow, as a power cut would.

``CAREEDGE_CRASH_AFTER=<step>`` (e.g. ``unlock_sent``) is read once, when the daemon starts: the
first time the process completes that step it sends itself SIGKILL, with no cleanup, no goodbye
on MQTT and nothing flushed beyond what SQLite already committed. Unset (production) it does
nothing. The dispensing steps are ``edge.dispensing.STEPS``; a test restarts the process without
the variable and checks that nothing happened twice.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping

ENV_VAR = "CAREEDGE_CRASH_AFTER"

log = logging.getLogger(__name__)


class CrashPoint:
    def __init__(self, step: str | None) -> None:
        self.step = step

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CrashPoint:
        step = environ.get(ENV_VAR) or None
        if step is not None:
            log.warning("test crash point armed: the process kills itself after step %s", step)
        return cls(step)

    def passed(self, step: str) -> None:
        """Call when ``step`` is complete (its effects committed or sent)."""
        if step == self.step:
            log.warning("crash point: SIGKILL after step %s", step)
            os.kill(os.getpid(), signal.SIGKILL)


NO_CRASH = CrashPoint(None)
