"""``careedge sim astm`` as a script uses it: path first, JSON lines, summary, clean signals."""

from __future__ import annotations

import json
import queue
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from astm_host import AstmHost
from typer.testing import CliRunner

from careedge.cli import app
from firmware_sim.kiosk.residents import IdStyle, generate_residents

LINE_TIMEOUT_S = 10.0
FAST_OPTIONS = ("--rate", "6000", "--time-scale", "0.05", "--retry-interval", "0.01", "--residents", "4")


class RunningAnalyzer:
    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "careedge", "sim", "astm", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.all_lines: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.all_lines.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def next_line(self) -> str:
        return self.lines.get(timeout=LINE_TIMEOUT_S)

    def finish(self) -> tuple[int, list[str], str]:
        code = self.process.wait(timeout=LINE_TIMEOUT_S)
        self._pump_thread.join(LINE_TIMEOUT_S)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        return code, [self.next_line() for _ in range(self.lines.qsize())], stderr


def test_count_run_prints_path_then_deliveries_then_summary_without_patient_data() -> None:
    analyzer = RunningAnalyzer(*FAST_OPTIONS, "--analyzer", "glucose", "--count", "3", "--seed", "8")
    path = Path(analyzer.next_line())
    assert str(path).startswith("/dev/pts/")
    with AstmHost(path) as host:
        code, lines, stderr = analyzer.finish()

    assert code == 0, stderr
    events = [json.loads(line) for line in lines]
    assert [event["event"] for event in events] == ["delivered"] * 3 + ["summary"]
    assert [event["transmission"] for event in events[:3]] == [1, 2, 3]
    assert events[-1]["delivered"] == 3
    received = b"".join(frame.text for frame in host.frames())
    residents = generate_residents(4, random.Random("8/residents"), IdStyle.CARE_HOME)
    output = "\n".join(analyzer.all_lines) + stderr
    assert any(resident.resident_id.encode() in received for resident in residents)
    for resident in residents:
        assert resident.resident_id not in output
        assert resident.family_name not in output


def test_sigterm_stops_with_a_summary_and_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyPOC"
    analyzer = RunningAnalyzer(*FAST_OPTIONS, "--analyzer", "urine", "--link", str(link))
    assert analyzer.next_line() == str(link)
    with AstmHost(link):
        assert json.loads(analyzer.next_line())["event"] == "delivered"
        analyzer.process.send_signal(signal.SIGTERM)
        code, lines, stderr = analyzer.finish()

    assert code == 0, stderr
    summary = json.loads(lines[-1])
    assert summary["event"] == "summary"
    assert summary["delivered"] >= 1
    assert not link.is_symlink()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--fault", "noise=0.1"], "'noise=0.1'"),
        (["--fault", "lost_ack=2"], "between 0 and 1"),
        (["--analyzer", "blood-gas"], "blood-gas"),
    ],
)
def test_bad_options_exit_2_with_the_reason(options: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["sim", "astm", *options])
    assert result.exit_code == 2
    assert message in result.output
