"""A screening kiosk on a simulated serial cable, running in its own thread.

The thread lets pytest and the demo run a kiosk beside asyncio code. Its protocol is the one kiosk
firmware uses: send one MLLP-framed ORU^R01, wait for an ACK whose MSA-2 names its control ID, and
on AE/AR or no answer within ``ack_timeout`` resend the same message (same control ID) after
``resend_backoff``, up to ``max_resends`` times; then give up on it and go on to the next. ACKs for
other control IDs (late answers to earlier messages) are counted and ignored.

Results are readable from any thread while it runs: ``acknowledged`` is what the kiosk "knows is
stored". Every wait is bounded and watches the stop event, so ``stop`` returns within a fraction of
a second.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from drivers.hl7.mllp import MllpDecoder, MllpFrame, frame
from firmware_sim.kiosk.ack import AckCode, AckError, parse_ack
from firmware_sim.kiosk.faults import Fault, FaultPlan, FaultRates, corrupted_transmission, plan_faults
from firmware_sim.kiosk.messages import (
    CHINA_STANDARD_TIME,
    BuiltMessage,
    ControlIds,
    MessageBuilder,
    MessageRecord,
)
from firmware_sim.kiosk.pty_port import PtyPort
from firmware_sim.kiosk.residents import IdStyle, Resident, generate_residents
from firmware_sim.kiosk.units import UnitsMode
from firmware_sim.kiosk.vitals import MeasurementKind

DEFAULT_RESIDENTS = 20
DEFAULT_INTERVAL_S = 10.0
DEFAULT_ACK_TIMEOUT_S = 5.0
DEFAULT_MAX_RESENDS = 3
DEFAULT_RESEND_BACKOFF_S = 1.0
DEFAULT_ABNORMAL_SHARE = 0.1
DEFAULT_FACILITY = "SUNRISE_CARE"
DEFAULT_DEVICE_ID = "KIOSK-01"
STOP_POLL_S = 0.05
"""Longest a port read or write blocks before the thread looks at the stop event again."""
STOP_JOIN_S = 5.0


@dataclass(slots=True)
class KioskCounters:
    """Counts since start; a snapshot, so changing it changes nothing in the simulator."""

    messages: int = 0
    """Messages composed."""
    sent: int = 0
    """Transmissions, corrupted first attempts and resends included."""
    acked: int = 0
    resent: int = 0
    nak: int = 0
    """Replies AE, AR, CE or CR for the message in flight."""
    timeouts: int = 0
    gave_up: int = 0
    """Messages abandoned after ``max_resends``."""
    stray_acks: int = 0
    """ACKs naming another control ID."""
    bad_acks: int = 0
    """Replies that are not a readable ACK (framing or HL7)."""
    garbled: int = 0
    truncated: int = 0
    silences: int = 0
    unplugs: int = 0


CounterName = Literal[
    "messages", "sent", "resent", "nak", "timeouts", "stray_acks", "bad_acks", "garbled", "truncated",
    "silences", "unplugs",
]  # fmt: skip
CORRUPTION_COUNTERS: dict[Fault, CounterName] = {Fault.GARBLED: "garbled", Fault.TRUNCATED: "truncated"}


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    record: MessageRecord
    acknowledged: bool
    attempts: int


class KioskSimulator:
    """One kiosk. ``start`` opens the port (so ``device_path`` is valid when it returns) and starts
    sending; ``stop`` ends the thread and closes the port.

    ``residents``: a roster, or how many to generate from ``seed`` (identifiers in ``id_style``).
    ``interval``: idle seconds between the end of one exchange and the next message (the first
    message also waits one interval). ``count``: messages to finish (acknowledged or given up)
    before going idle; ``None`` runs until stopped. ``seed`` makes readings, residents and faults
    reproducible. ``on_delivery`` is called from the simulator thread after each message is
    acknowledged or given up. ``max_records`` keeps only the newest records in ``acknowledged`` and
    ``failed`` (a long run); ``None`` keeps all. Raises ``ValueError`` for out-of-range options.
    """

    def __init__(
        self,
        *,
        residents: Sequence[Resident] | int = DEFAULT_RESIDENTS,
        interval: float = DEFAULT_INTERVAL_S,
        count: int | None = None,
        ack_timeout: float = DEFAULT_ACK_TIMEOUT_S,
        max_resends: int = DEFAULT_MAX_RESENDS,
        resend_backoff: float = DEFAULT_RESEND_BACKOFF_S,
        seed: int | None = None,
        units: UnitsMode = UnitsMode.METRIC,
        abnormal: float = DEFAULT_ABNORMAL_SHARE,
        kinds: Sequence[MeasurementKind] = tuple(MeasurementKind),
        faults: FaultRates | None = None,
        link: Path | None = None,
        facility: str = DEFAULT_FACILITY,
        device_id: str = DEFAULT_DEVICE_ID,
        utc_offset: tzinfo = CHINA_STANDARD_TIME,
        on_delivery: Callable[[DeliveryOutcome], None] | None = None,
        max_records: int | None = None,
        id_style: IdStyle = IdStyle.ID_CARD,
    ) -> None:
        if interval < 0 or ack_timeout <= 0 or resend_backoff < 0:
            raise ValueError("interval and resend_backoff must be >= 0 and ack_timeout > 0")
        if max_resends < 0 or (count is not None and count < 0):
            raise ValueError("max_resends and count must not be negative")
        self._roster = (
            generate_residents(residents, random.Random(f"{seed}/residents"), id_style)
            if isinstance(residents, int)
            else list(residents)
        )
        if not self._roster:
            raise ValueError("at least one resident is needed")
        self._rng = random.Random(seed)
        self._queue: list[Resident] = []
        self._fault_rng = random.Random(f"{seed}/faults")
        self._builder = MessageBuilder(
            rng=self._rng,
            facility=facility,
            device_id=device_id,
            units=units,
            abnormal=abnormal,
            kinds=kinds,
            utc_offset=utc_offset,
        )
        self._control_ids = ControlIds(datetime.now(utc_offset))
        self._interval = interval
        self._count = count
        self._ack_timeout = ack_timeout
        self._max_resends = max_resends
        self._resend_backoff = resend_backoff
        self._faults = faults or FaultRates()
        self._on_delivery = on_delivery
        self._port = PtyPort(link)
        self._decoder = MllpDecoder()
        self._lock = threading.Lock()
        self._counters = KioskCounters()
        self._acknowledged: deque[MessageRecord] = deque(maxlen=max_records)
        self._failed: deque[MessageRecord] = deque(maxlen=max_records)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kiosk-{device_id}", daemon=True)

    def start(self) -> None:
        """Open the port and start sending; raises ``OSError`` if no pty can be opened."""
        if self._thread.is_alive() or self._stop.is_set():
            raise RuntimeError("a kiosk simulator starts once")
        self._port.open()
        self._thread.start()

    def stop(self) -> None:
        """Stop sending, unplug the port and remove its link. Idempotent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_JOIN_S)
            if self._thread.is_alive():
                raise RuntimeError("kiosk simulator thread did not stop")
        self._port.close()

    def wait_finished(self, timeout: float) -> bool:
        """True once ``count`` messages are done (or the thread ended on stop or error)."""
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
    def acknowledged(self) -> list[MessageRecord]:
        with self._lock:
            return list(self._acknowledged)

    @property
    def failed(self) -> list[MessageRecord]:
        """Messages given up on after ``max_resends``."""
        with self._lock:
            return list(self._failed)

    @property
    def counters(self) -> KioskCounters:
        with self._lock:
            return replace(self._counters)

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the thread, if one did."""
        with self._lock:
            return self._error

    def _run(self) -> None:
        try:
            finished = 0
            while self._count is None or finished < self._count:
                if self._stop.wait(self._interval):
                    return
                plan = plan_faults(self._faults, self._fault_rng)
                if not self._apply_pre_send_faults(plan):
                    return
                outcome = self._deliver(self._next_message(), plan.corruption)
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

    def _next_message(self) -> BuiltMessage:
        """Residents take turns, as they queue at a kiosk: each measures once per round, in a
        shuffled order, so one resident is never measured twice within a few seconds."""
        if not self._queue:
            self._queue = list(self._roster)
            self._rng.shuffle(self._queue)
        resident = self._queue.pop()
        self._bump("messages")
        return self._builder.build(resident, self._control_ids.next())

    def _apply_pre_send_faults(self, plan: FaultPlan) -> bool:
        """Silence and unplug happen before a message; False when stopped meanwhile."""
        if plan.silence:
            self._bump("silences")
            if self._stop.wait(self._faults.silence_s):
                return False
        if plan.unplug:
            self._bump("unplugs")
            self._port.unplug()
            self._decoder.reset()
            if self._stop.wait(self._faults.unplug_s):
                return False
            self._port.open()
        return True

    def _deliver(self, message: BuiltMessage, corruption: Fault | None) -> DeliveryOutcome | None:
        """Send until accepted or out of resends; None when stopped first."""
        control_id = message.record.control_id
        for attempt in range(1, self._max_resends + 2):
            if attempt > 1:
                self._bump("resent")
                if self._stop.wait(self._resend_backoff):
                    return None
            if attempt == 1 and corruption is not None:
                self._bump(CORRUPTION_COUNTERS[corruption])
                data = corrupted_transmission(corruption, message.payload, self._fault_rng)
            else:
                data = frame(message.payload)
            deadline = time.monotonic() + self._ack_timeout
            if not self._transmit(data, deadline):
                return None
            self._bump("sent")
            code = self._await_ack(control_id, deadline)
            if self._stop.is_set():
                return None
            if code is not None and code.accepted:
                with self._lock:
                    self._counters.acked += 1
                    self._acknowledged.append(message.record)
                return DeliveryOutcome(message.record, acknowledged=True, attempts=attempt)
            self._bump("timeouts" if code is None else "nak")
        with self._lock:
            self._counters.gave_up += 1
            self._failed.append(message.record)
        return DeliveryOutcome(message.record, acknowledged=False, attempts=self._max_resends + 1)

    def _transmit(self, data: bytes, deadline: float) -> bool:
        """Write in short slices. What a full reader buffer cannot take by ``deadline`` is never sent:
        the reader gets a partial frame, which its decoder discards. False when stopped."""
        written = 0
        while written < len(data) and time.monotonic() < deadline:
            if self._stop.is_set():
                return False
            written += self._port.write(data[written:], STOP_POLL_S)
        return not self._stop.is_set()

    def _await_ack(self, control_id: str, deadline: float) -> AckCode | None:
        """The code of the first ACK for ``control_id`` before ``deadline``; None on timeout or stop."""
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            for event in self._decoder.feed(self._port.read(min(remaining, STOP_POLL_S))):
                if not isinstance(event, MllpFrame):
                    self._bump("bad_acks")
                    continue
                try:
                    ack = parse_ack(event.payload)
                except AckError:
                    self._bump("bad_acks")
                    continue
                if ack.control_id == control_id:
                    return ack.code
                self._bump("stray_acks")
        return None

    def _bump(self, counter: CounterName) -> None:
        with self._lock:
            setattr(self._counters, counter, getattr(self._counters, counter) + 1)
