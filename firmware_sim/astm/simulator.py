"""A point-of-care analyzer on a simulated serial cable, running in its own thread.

Every ``interval`` it composes a transmission (``analyzers``) and delivers it with the sender side
of E1381 (``sender``). An attempt that fails (refused frames, no reply, unplugged) is repeated after
``retry_interval``, up to ``max_attempts`` attempts, because analyzers keep results they could not
send; faults (``faults``) hit the first attempt only.

Results are readable from any thread while it runs: ``acknowledged`` holds the transmissions whose
every frame was acknowledged, what the analyzer "knows is sent". ``stop`` returns within a fraction
of a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from drivers.astm.frames import transmission_frames
from firmware_sim.astm.analyzers import AnalyzerKind, Transmission, TransmissionBuilder, UnitSystem
from firmware_sim.astm.faults import NO_FAULTS, FaultRates, plan_faults
from firmware_sim.astm.sender import Attempt, E1381Sender, SenderTimers
from firmware_sim.kiosk.messages import CHINA_STANDARD_TIME
from firmware_sim.kiosk.residents import IdStyle, Resident
from firmware_sim.pty_simulator import PtySimulator

DEFAULT_RESIDENTS = 20
DEFAULT_INTERVAL_S = 30.0
DEFAULT_RETRY_INTERVAL_S = 30.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_ABNORMAL_SHARE = 0.1
DEFAULT_OUT_OF_RANGE_SHARE = 0.02
DEFAULT_QUALITY_CONTROL_SHARE = 0.05


@dataclass(slots=True)
class AstmCounters:
    """Counts since start; a snapshot, so changing it changes nothing in the simulator."""

    transmissions: int = 0
    """Transmissions composed."""
    attempts: int = 0
    delivered: int = 0
    gave_up: int = 0
    enqs: int = 0
    busy: int = 0
    """ENQ answered NAK."""
    contentions: int = 0
    """ENQ answered ENQ."""
    frames: int = 0
    retransmits: int = 0
    naks: int = 0
    timeouts: int = 0
    aborts: int = 0
    """Attempts ended after a frame was refused six times."""
    interrupts: int = 0
    """Frames answered EOT (receiver interrupt), taken as ACK."""
    bad_checksums: int = 0
    bad_frame_numbers: int = 0
    garbled_acks: int = 0
    lost_acks: int = 0
    noise_bursts: int = 0
    stalls: int = 0
    unplugs: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    transmission: Transmission
    delivered: bool
    attempts: int


class AstmAnalyzerSimulator(PtySimulator[Transmission, AstmCounters, DeliveryOutcome]):
    """One analyzer. ``start`` opens the port (so ``device_path`` is valid when it returns) and starts
    sending; ``stop`` ends the thread and closes the port.

    ``residents``: a roster, or how many to generate from ``seed``. ``count``: transmissions to
    finish (delivered or given up) before going idle; None runs until stopped. ``time_scale``
    multiplies the standard's timers (15 s reply, 10 s busy, 1 s contention). ``on_delivery`` is
    called from the simulator thread after each transmission is delivered or given up.
    ``max_records`` keeps only the newest transmissions in ``acknowledged`` and ``failed``.
    Raises ``ValueError`` for out-of-range options.
    """

    def __init__(
        self,
        *,
        analyzer: AnalyzerKind = AnalyzerKind.GLUCOSE_METER,
        residents: Sequence[Resident] | int = DEFAULT_RESIDENTS,
        interval: float = DEFAULT_INTERVAL_S,
        count: int | None = None,
        time_scale: float = 1.0,
        retry_interval: float = DEFAULT_RETRY_INTERVAL_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        units: UnitSystem = UnitSystem.SI,
        abnormal: float = DEFAULT_ABNORMAL_SHARE,
        out_of_range: float = DEFAULT_OUT_OF_RANGE_SHARE,
        quality_control: float = DEFAULT_QUALITY_CONTROL_SHARE,
        seed: int | None = None,
        faults: FaultRates | None = None,
        link: Path | None = None,
        utc_offset: tzinfo = CHINA_STANDARD_TIME,
        on_delivery: Callable[[DeliveryOutcome], None] | None = None,
        max_records: int | None = None,
        id_style: IdStyle = IdStyle.CARE_HOME,
    ) -> None:
        if interval < 0 or retry_interval < 0:
            raise ValueError("interval and retry_interval must be >= 0")
        if max_attempts < 1 or (count is not None and count < 0):
            raise ValueError("max_attempts must be at least 1 and count not negative")
        super().__init__(
            what=f"astm-{analyzer.value}",
            residents=residents,
            id_style=id_style,
            seed=seed,
            interval=interval,
            count=count,
            link=link,
            on_delivery=on_delivery,
            max_records=max_records,
            counters=AstmCounters(),
        )
        self._builder = TransmissionBuilder(
            analyzer=analyzer,
            rng=self._rng,
            units=units,
            utc_offset=utc_offset,
            abnormal=abnormal,
            out_of_range=out_of_range,
            quality_control=quality_control,
        )
        self._retry_interval = retry_interval
        self._max_attempts = max_attempts
        self._faults = faults or FaultRates()
        self._sender = E1381Sender(
            self._port,
            SenderTimers.scaled(time_scale),
            self._stop,
            self._bump,
            self._fault_rng,
            unplug_s=self._faults.unplug_s,
            stall_s=self._faults.stall_s,
        )
        self._transmissions = 0

    def _step(self) -> DeliveryOutcome | None:
        return self._deliver(self._next_transmission())

    def _next_transmission(self) -> Transmission:
        """Residents take turns: each is measured once per round, in a shuffled order."""
        residents = [self._next_resident() for _ in range(self._builder.residents_per_transmission)]
        self._transmissions += 1
        self._bump("transmissions")
        return self._builder.build(self._transmissions, residents)

    def _deliver(self, transmission: Transmission) -> DeliveryOutcome | None:
        """Attempt until delivered or out of attempts; None when stopped first."""
        frames = transmission_frames(transmission.records)
        plan = plan_faults(self._faults, self._fault_rng, len(frames))
        for attempt in range(1, self._max_attempts + 1):
            if attempt > 1 and self._stop.wait(self._retry_interval):
                return None
            self._bump("attempts")
            result = self._sender.transmit(frames, plan if attempt == 1 else NO_FAULTS)
            if result is Attempt.STOPPED:
                return None
            if result is Attempt.DELIVERED:
                self._finish(transmission, accepted=True, counter="delivered")
                return DeliveryOutcome(transmission, delivered=True, attempts=attempt)
        self._finish(transmission, accepted=False, counter="gave_up")
        return DeliveryOutcome(transmission, delivered=False, attempts=self._max_attempts)
