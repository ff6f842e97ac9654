"""What every simulated serial device on a pseudo-terminal shares: the sending thread, the port,
residents taking turns, and thread-safe results (acknowledged and failed records, counters).

A device family (kiosk, analyzer) supplies ``_step``: produce one exchange and say how it ended.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Generic, Self, TypeVar

from firmware_sim.kiosk.pty_port import PtyPort
from firmware_sim.kiosk.residents import IdStyle, Resident, generate_residents

STOP_JOIN_S = 5.0

RecordT = TypeVar("RecordT")
CountersT = TypeVar("CountersT")
OutcomeT = TypeVar("OutcomeT")


class PtySimulator(Generic[RecordT, CountersT, OutcomeT]):
    """``start`` opens the port (so ``device_path`` is valid when it returns) and starts the thread,
    which waits ``interval`` before each exchange and stops after ``count`` of them (None: never);
    ``stop`` ends the thread and closes the port. ``on_delivery`` hears each outcome on the
    simulator thread. ``max_records`` keeps only the newest records (None keeps all)."""

    def __init__(
        self,
        *,
        what: str,
        residents: Sequence[Resident] | int,
        id_style: IdStyle,
        seed: int | None,
        interval: float,
        count: int | None,
        link: Path | None,
        on_delivery: Callable[[OutcomeT], None] | None,
        max_records: int | None,
        counters: CountersT,
    ) -> None:
        self._what = what
        self._roster = (
            generate_residents(residents, random.Random(f"{seed}/residents"), id_style)
            if isinstance(residents, int)
            else list(residents)
        )
        if not self._roster:
            raise ValueError("at least one resident is needed")
        self._rng = random.Random(seed)
        self._roster_order = self._rng.sample(self._roster, len(self._roster))
        self._turn = 0
        self._fault_rng = random.Random(f"{seed}/faults")
        self._interval = interval
        self._count = count
        self._on_delivery = on_delivery
        self._port = PtyPort(link)
        self._opened = False
        self._lock = threading.Lock()
        self._counters = counters
        self._acknowledged: deque[RecordT] = deque(maxlen=max_records)
        self._failed: deque[RecordT] = deque(maxlen=max_records)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=what, daemon=True)

    def open(self) -> None:
        """Open the port without sending yet, so a reader can open it before the first exchange (a
        serial port that opens later flushes what was already sent). Raises ``OSError``."""
        if not self._opened:
            self._port.open()
            self._opened = True

    def start(self) -> None:
        """Open the port if ``open`` did not, and start sending; raises ``OSError`` if no pty opens."""
        if self._thread.is_alive() or self._stop.is_set():
            raise RuntimeError(f"{self._what} simulator starts once")
        self.open()
        self._thread.start()

    def stop(self) -> None:
        """Stop sending, unplug the port and remove its link. Idempotent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_JOIN_S)
            if self._thread.is_alive():
                raise RuntimeError(f"{self._what} simulator thread did not stop")
        self._port.close()

    def wait_finished(self, timeout: float) -> bool:
        """True once ``count`` exchanges are done (or the thread ended on stop or error)."""
        return self._finished.wait(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def device_path(self) -> Path:
        """The path a reader opens: the link when one was given, else the current slave path."""
        return self._port.device_path

    @property
    def residents(self) -> list[Resident]:
        return list(self._roster)

    @property
    def acknowledged(self) -> list[RecordT]:
        with self._lock:
            return list(self._acknowledged)

    @property
    def failed(self) -> list[RecordT]:
        """Records given up on after the device's retries."""
        with self._lock:
            return list(self._failed)

    @property
    def counters(self) -> CountersT:
        with self._lock:
            return copy.copy(self._counters)

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the thread, if one did."""
        with self._lock:
            return self._error

    def _step(self) -> OutcomeT | None:
        """One exchange with the reader; None when stopped meanwhile."""
        raise NotImplementedError

    def _run(self) -> None:
        try:
            finished = 0
            while self._count is None or finished < self._count:
                if self._stop.wait(self._interval):
                    return
                outcome = self._step()
                if outcome is None:
                    return
                finished += 1
                if self._on_delivery is not None:
                    self._on_delivery(outcome)
        except Exception as exc:
            with self._lock:
                self._error = exc
        finally:
            self._finished.set()

    def _next_resident(self) -> Resident:
        """Residents take turns, as they queue at a device: in one shuffled order, round after
        round, so a resident comes back only after every other one. Reshuffling each round would
        let a resident end one round and start the next two turns later: two of their readings
        could then fall in the same second and share a time-series key, one hiding the other."""
        resident = self._roster_order[self._turn % len(self._roster_order)]
        self._turn += 1
        return resident

    def _bump(self, counter: str) -> None:
        with self._lock:
            setattr(self._counters, counter, getattr(self._counters, counter) + 1)

    def _finish(self, record: RecordT, *, accepted: bool, counter: str) -> None:
        """File a record as acknowledged or failed and count it, atomically for readers."""
        with self._lock:
            setattr(self._counters, counter, getattr(self._counters, counter) + 1)
            (self._acknowledged if accepted else self._failed).append(record)
