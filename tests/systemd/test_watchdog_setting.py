"""Which keep-alive interval a daemon takes from the environment systemd started it with."""

from __future__ import annotations

import os

import pytest

from careedge_common.service_notify import watchdog_timeout_s


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "30s"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "main"}, None),
    ],
    ids=["unset", "set", "for-us", "for-parent", "zero", "malformed", "malformed-pid"],
)
def test_watchdog_timeout_from_environment(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_timeout_s(environ) == expected
