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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Literal

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
from firmware_sim.kiosk.residents import IdStyle, Resident
from firmware_sim.kiosk.units import UnitsMode
from firmware_sim.kiosk.vitals import MeasurementKind
from firmware_sim.pty_simulator import PtySimulator

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


class KioskSimulator(PtySimulator[MessageRecord, KioskCounters, DeliveryOutcome]):
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
        super().__init__(
            what=f"kiosk-{device_id}",
            residents=residents,
            id_style=id_style,
            seed=seed,
            interval=interval,
            count=count,
            link=link,
            on_delivery=on_delivery,
            max_records=max_records,
            counters=KioskCounters(),
        )
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
        self._ack_timeout = ack_timeout
        self._max_resends = max_resends
        self._resend_backoff = resend_backoff
        self._faults = faults or FaultRates()
        self._decoder = MllpDecoder()

    def _step(self) -> DeliveryOutcome | None:
        plan = plan_faults(self._faults, self._fault_rng)
        if not self._apply_pre_send_faults(plan):
            return None
        return self._deliver(self._next_message(), plan.corruption)

    def _next_message(self) -> BuiltMessage:
        resident = self._next_resident()
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
                self._finish(message.record, accepted=True, counter="acked")
                return DeliveryOutcome(message.record, acknowledged=True, attempts=attempt)
            self._bump("timeouts" if code is None else "nak")
        self._finish(message.record, accepted=False, counter="gave_up")
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
