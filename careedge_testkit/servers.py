"""Real servers for tests and benchmarks: Mosquitto and VictoriaMetrics on free loopback ports.

Each instance owns a temporary directory and its process; ``stop`` (or leaving the ``with``
block) ends the process and waits for it, so no test leaves a server behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


def _find(binary: str, *extra_dirs: str) -> str:
    found = shutil.which(binary)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / binary
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"{binary} is not installed (make test installs it from apt)")


class _ServerProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"careedge-{type(self).__name__.lower()}-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "server.log"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        return port_open(self.port)

    def start(self) -> Self:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            wait_until(
                lambda: self._ready() or self.process is None or self.process.poll() is not None,
                20,
                f"{type(self).__name__} on port {self.port}",
            )
        except TimeoutError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise RuntimeError(f"{type(self).__name__} exited: {self.log_path.read_text()[-2000:]}")
        return self

    def kill(self) -> None:
        """SIGKILL: what a power cut does to the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.cleanup()


class Mosquitto(_ServerProcess):
    """Mosquitto with limits raised so a slow or offline subscriber is throttled, not dropped.

    ``autosave_interval_s``: how often it writes its state to disk. Short by default, so sessions
    survive a restart; a long one makes certain that a SIGKILL loses what it had acknowledged.
    """

    def __init__(self, extra_config: str = "", *, autosave_interval_s: int = 1) -> None:
        super().__init__()
        self.extra_config = extra_config
        self.autosave_interval_s = autosave_interval_s

    def _command(self) -> list[str]:
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {LOOPBACK}\n"
            "allow_anonymous true\n"
            # Started as root, mosquitto drops to user "mosquitto", which cannot write its database
            # into our temporary directory: sessions would silently not survive a restart.
            "user root\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            f"autosave_interval {self.autosave_interval_s}\n"
            "max_inflight_messages 1000\n"
            "max_queued_messages 1000000\n"
            "max_queued_bytes 0\n"
            f"{self.extra_config}"
        )
        return [_find("mosquitto", "/usr/sbin"), "-c", str(config)]

    def restart(self) -> None:
        """Stop gracefully (persisting its state) and start again on the same port."""
        self.stop()
        self.start()


class VictoriaMetrics(_ServerProcess):
    """Speaks the InfluxDB v2 write API; reads back through its export API."""

    def _command(self) -> list[str]:
        return [
            _find("victoria-metrics"),
            f"-storageDataPath={self.workdir / 'data'}",
            f"-httpListenAddr={LOOPBACK}:{self.port}",
            "-search.latencyOffset=0s",
            "-retentionPeriod=1y",
            # One sample per series and timestamp, as InfluxDB keeps one point per key: a
            # re-delivered reading overwrites itself instead of being counted twice.
            "-dedup.minScrapeInterval=1ms",
        ]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=0.5) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def flush(self) -> None:
        """Make freshly written points visible to queries now instead of after about a second."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):  # noqa: S310
            pass

    def export(self, selector: str = '{__name__="vitals_value"}') -> list[dict[str, Any]]:
        """Every stored series matching ``selector``, one dict per series (metric, values, timestamps)."""
        self.flush()
        query = urllib.parse.urlencode({"match[]": selector})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=30) as response:  # noqa: S310
            return [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]

    def count_points(self, selector: str = '{__name__="vitals_value"}') -> int:
        return sum(len(series["values"]) for series in self.export(selector))
