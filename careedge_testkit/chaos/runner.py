"""Drive a ``ChaosSite`` through a fault schedule, let it settle, and reconcile what was stored.

Faults are applied at their scheduled offsets from the start of the run, each part brought back
when its down time ends, while the kiosks keep measuring. A daemon that exits on its own (no fault
of ours) is counted as an unplanned exit and restarted, as systemd would. After the last fault the
kiosks stop and the run waits, up to the profile's ``settle_s``, until the edge's outbox is drained
and the bridges have processed every envelope in it; whatever is missing then stays missing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from careedge_testkit.chaos import evidence
from careedge_testkit.chaos.reconcile import Evidence, ReadingKey, Reconciliation, reconcile
from careedge_testkit.chaos.schedule import BROKER, EDGE, KILLS, ChaosProfile, Fault, FaultKind, plan
from careedge_testkit.chaos.site import FACILITY, SITE, ChaosSite
from careedge_testkit.processes import Daemon
from careedge_testkit.servers import wait_until

TALLIED: dict[str, tuple[str, ...]] = {
    EDGE: ("careedge_edge_replayed_total",),
    "bridge": (
        "careedge_bridge_duplicates_total",
        "careedge_bridge_replays_requested_total",
        "careedge_bridge_seq_gaps_given_up_total",
    ),
}
"""Counters summed over every life of each daemon: read just before each kill and at the end."""
SETTLE_POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class BrokerKillLosses:
    """Lost readings that Mosquitto had acknowledged to the edge before a broker kill: what a broker
    that persists only every ``autosave_interval`` loses when killed (DESIGN §4)."""

    readings: int
    longest_s: float
    """The longest time from such a reading's PUBACK to the next broker kill."""


@dataclass(slots=True)
class FaultRecord:
    fault: Fault
    began: float
    """Unix time the fault was applied."""
    ended: float | None = None


@dataclass(frozen=True, slots=True)
class ChaosResult:
    seed: int
    profile: str
    replay: bool
    """Whether the delivery check (watermark, replay) could act."""
    faults: tuple[FaultRecord, ...]
    messages_sent: int
    """Kiosk messages (one screening session each, one to three stations)."""
    transmissions: int
    """Kiosk transmissions, resends through outages included."""
    reconciliation: Reconciliation
    broker_kill_losses: BrokerKillLosses
    tallies: Mapping[str, int]
    """``TALLIED`` counters summed over the daemons' lives (a counter dies with its process)."""
    unplanned_exits: Mapping[str, int]
    settled: bool
    """The outbox drained and every envelope in it was processed before ``settle_s`` ran out."""
    duration_s: float

    @property
    def by_kind(self) -> Counter[FaultKind]:
        return Counter(record.fault.kind for record in self.faults)

    @property
    def kills(self) -> int:
        return sum(1 for record in self.faults if record.fault.kind in KILLS)


@dataclass(slots=True)
class _Books:
    """What the run counts as it goes."""

    records: list[FaultRecord] = field(default_factory=list)
    unplanned_exits: Counter[str] = field(default_factory=Counter)
    tallies: Counter[str] = field(default_factory=Counter)
    down: set[str] = field(default_factory=set)


class ChaosRunner:
    def __init__(self, site: ChaosSite, seed: int, profile_name: str, profile: ChaosProfile) -> None:
        self._site = site
        self._seed = seed
        self._profile_name = profile_name
        self._profile = profile
        self._faults = plan(seed, profile, site.bridge_names)
        self._books = _Books()

    def run(self) -> ChaosResult:
        """Apply the schedule to the started site and reconcile; the site is left running."""
        started = time.monotonic()
        for offset, begin, fault in self._timeline():
            # The schedule's own clock: faults strike at their planned moments, whatever the parts
            # are doing (nothing is waited for here, on purpose).
            time.sleep(max(0.0, started + offset - time.monotonic()))
            self._restart_unplanned_exits()
            if begin:
                self._begin(fault)
            else:
                self._end(fault)
        for kiosk in self._site.kiosks.values():
            kiosk.stop()
        settled = self._settle()
        for daemon in (EDGE, *self._site.bridge_names):
            self._tally(daemon)
        return self._result(settled, time.monotonic() - started)

    def _timeline(self) -> list[tuple[float, bool, Fault]]:
        """(offset, True to begin / False to end, fault), ends before begins at the same offset."""
        events = [(fault.at_s, True, fault) for fault in self._faults]
        events += [(fault.ends_s, False, fault) for fault in self._faults]
        return sorted(events, key=lambda event: (event[0], event[1]))

    def _begin(self, fault: Fault) -> None:
        site = self._site
        actions: dict[FaultKind, Callable[[], None]] = {
            FaultKind.EDGE_KILL: lambda: self._kill(EDGE, site.edge),
            FaultKind.BRIDGE_KILL: lambda: self._kill(fault.target, site.bridges[fault.target]),
            FaultKind.BROKER_KILL: site.broker.kill,
            FaultKind.TSDB_PAUSE: site.tsdb.pause,
            FaultKind.LINK_CUT: site.uplink.cut,
        }
        self._books.down.add(fault.target)
        actions[fault.kind]()
        self._books.records.append(FaultRecord(fault, time.time()))

    def _end(self, fault: Fault) -> None:
        site = self._site
        actions: dict[FaultKind, Callable[[], object]] = {
            FaultKind.EDGE_KILL: site.edge.start,
            FaultKind.BRIDGE_KILL: lambda: site.bridges[fault.target].start(),
            FaultKind.BROKER_KILL: site.broker.start,
            FaultKind.TSDB_PAUSE: site.tsdb.resume,
            FaultKind.LINK_CUT: site.uplink.restore,
        }
        actions[fault.kind]()
        self._books.down.discard(fault.target)
        for record in self._books.records:
            if record.fault is fault:
                record.ended = time.time()

    def _kill(self, name: str, daemon: Daemon) -> None:
        self._tally(name)
        daemon.kill()

    def _tally(self, daemon: str) -> None:
        samples = TALLIED[EDGE if daemon == EDGE else "bridge"]
        for sample, value in self._site.metrics(daemon, samples).items():
            self._books.tallies[sample] += int(value)

    def _restart_unplanned_exits(self) -> None:
        site = self._site
        daemons: dict[str, Daemon] = {EDGE: site.edge, **site.bridges}
        for name, daemon in daemons.items():
            if name not in self._books.down and not daemon.running:
                self._books.unplanned_exits[name] += 1
                daemon.start()
        broker = site.broker.process
        if BROKER not in self._books.down and broker is not None and broker.poll() is not None:
            self._books.unplanned_exits[BROKER] += 1
            site.broker.start()

    def _settle(self) -> bool:
        """Wait until the outbox is drained and every envelope in it processed; False on timeout."""
        site = self._site

        def delivered() -> bool:
            self._restart_unplanned_exits()
            ids, pending = evidence.outbox_state(site.outbox_path)
            return pending == 0 and ids <= evidence.processed_ids(site.store_path)

        try:
            wait_until(delivered, self._profile.settle_s, "every envelope processed", SETTLE_POLL_S)
        except TimeoutError:
            return False
        return True

    def _result(self, settled: bool, duration_s: float) -> ChaosResult:
        site = self._site
        ledger = evidence.outbox_ledger(site.outbox_path)
        acknowledged = {
            key: measured
            for device, kiosk in site.kiosks.items()
            for key, measured in evidence.acknowledged_readings(
                kiosk.acknowledged, device, site.pseudonymiser, FACILITY
            ).items()
        }
        result = reconcile(
            Evidence(
                acknowledged=acknowledged,
                stored=evidence.stored_points(site.tsdb, SITE),
                ledger=ledger,
                processed=evidence.processed_ids(site.store_path),
                reading_rows=evidence.reading_rows(site.store_path),
            )
        )
        counters = [kiosk.counters for kiosk in site.kiosks.values()]
        return ChaosResult(
            seed=self._seed,
            profile=self._profile_name,
            replay=site.replay,
            faults=tuple(self._books.records),
            messages_sent=sum(c.messages for c in counters),
            transmissions=sum(c.sent for c in counters),
            reconciliation=result,
            broker_kill_losses=self._broker_kill_losses(result.lost, ledger),
            tallies=dict(self._books.tallies),
            unplanned_exits=dict(self._books.unplanned_exits),
            settled=settled,
            duration_s=duration_s,
        )

    def _broker_kill_losses(
        self, lost: tuple[ReadingKey, ...], ledger: Mapping[str, list[ReadingKey]]
    ) -> BrokerKillLosses:
        """Lost readings whose envelope the broker had acknowledged (PUBACK) before a broker kill."""
        kills = sorted(r.began for r in self._books.records if r.fault.kind is FaultKind.BROKER_KILL)
        lost_set = set(lost)
        carriers = {envelope_id for envelope_id, keys in ledger.items() if lost_set.intersection(keys)}
        delays: dict[ReadingKey, float] = {}
        for envelope_id, acked_at in evidence.published_at(self._site.outbox_path, carriers).items():
            following = [kill - acked_at for kill in kills if acked_at is not None and kill >= acked_at]
            if following:
                for key in lost_set.intersection(ledger[envelope_id]):
                    delays[key] = min(following[0], delays.get(key, following[0]))
        return BrokerKillLosses(len(delays), max(delays.values(), default=0.0))
