"""``careedge sim kiosk`` as a script uses it: path first, JSON lines, summary, clean signals."""

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
from kiosk_receiver import MllpReceiver
from typer.testing import CliRunner

from careedge.cli import app
from firmware_sim.kiosk.residents import generate_residents

LINE_TIMEOUT_S = 10.0


class RunningKiosk:
    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "careedge", "sim", "kiosk", *options],
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
        lines = [self.next_line() for _ in range(self.lines.qsize())]
        return code, lines, stderr


FAST_OPTIONS = ("--rate", "6000", "--ack-timeout", "0.5", "--resend-backoff", "0.01", "--residents", "5")


def test_count_run_prints_path_then_acks_then_summary_without_patient_data() -> None:
    kiosk = RunningKiosk(*FAST_OPTIONS, "--count", "3", "--seed", "8")
    path = Path(kiosk.next_line())
    assert str(path).startswith("/dev/pts/")
    with MllpReceiver(path) as receiver:
        code, lines, stderr = kiosk.finish()
    assert code == 0, stderr
    events = [json.loads(line) for line in lines]
    acked = [event for event in events if event["event"] == "acked"]
    assert [event["control_id"] for event in acked] == [item.control_id for item in receiver.received]
    assert events[-1]["event"] == "summary"
    assert (events[-1]["acked"], events[-1]["messages"], events[-1]["resent"]) == (3, 3, 0)
    output = "\n".join(kiosk.all_lines) + stderr
    residents = generate_residents(5, random.Random("8/residents"))
    sent_ids = {item.message["PID.F3.R1.C1"] for item in receiver.received if item.message is not None}
    assert sent_ids
    assert sent_ids <= {resident.resident_id for resident in residents}
    for resident in residents:
        assert resident.resident_id not in output
        assert resident.family_name + resident.given_name not in output


def test_sigterm_stops_with_a_summary_and_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyKIOSK"
    kiosk = RunningKiosk(*FAST_OPTIONS, "--link", str(link))
    assert kiosk.next_line() == str(link)
    with MllpReceiver(link):
        assert json.loads(kiosk.next_line())["event"] == "acked"
        kiosk.process.send_signal(signal.SIGTERM)
        code, lines, stderr = kiosk.finish()
    assert code == 0, stderr
    summary = json.loads(lines[-1])
    assert summary["event"] == "summary"
    assert summary["acked"] >= 1
    assert not link.exists()
    assert not link.is_symlink()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--fault", "noise=0.1"], "'noise=0.1'"),
        (["--fault", "garbled=2"], "between 0 and 1"),
        (["--facility", "A|B"], "HL7 delimiters"),
    ],
)
def test_bad_options_exit_2_with_the_reason(options: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["sim", "kiosk", *options])
    assert result.exit_code == 2
    assert message in result.output


def test_bad_roster_names_the_row_not_the_person(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("resident_id,family_name,given_name\nR1,王,秀英\nR1,李,玉兰\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["sim", "kiosk", "--residents-file", str(roster)])
    assert result.exit_code == 2
    assert "row 3" in result.output
    assert "李" not in result.output
    assert "R1" not in result.output


def test_a_link_path_holding_a_file_is_refused(tmp_path: Path) -> None:
    occupied = tmp_path / "ttyUSB0"
    occupied.write_text("not a device")
    result = CliRunner().invoke(app, ["sim", "kiosk", "--link", str(occupied)])
    assert result.exit_code == 2
    assert "not a symlink" in result.output
    assert occupied.read_text() == "not a device"
