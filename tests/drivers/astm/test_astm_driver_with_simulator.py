"""The ASTM driver against the analyzer simulator on a real pty, faults included.

A small stand-in for the edge supervisor stores each message's readings, then accepts it, and
reopens the port after a disconnect. What the simulator counts as delivered (every frame
acknowledged) is compared with what was stored: every storable result of a delivered transmission
once, nothing else. Readings are identified as the edge's outbox does (``reading_fingerprint``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from careedge_common.config import SerialSettings
from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.driver import AstmAnalyzerDriver
from drivers.astm.link import LinkTimeouts
from drivers.astm.vocabulary import Analytes
from drivers.contract import DeviceDisconnected, DeviceUnavailable, InboundMessage, Reading
from edge.supervisor import reading_fingerprint
from firmware_sim.astm import AnalyzerKind, AstmAnalyzerSimulator, FaultRates, Transmission

SECRET = b"site-secret-for-tests-0002"
DONE_S = 60.0
RECONNECT_S = 0.05
"""The harness's reconnect backoff, as the supervisor's device policy would wait."""
TIMEOUTS = LinkTimeouts(frame_s=1.5, verdict_s=0.8, busy_s=0.5)
"""Shrunk like the simulator's timers (time_scale 0.1: 1.5 s reply, 1 s busy retry)."""
ANALYTES = {
    AnalyzerKind.GLUCOSE_METER: Analytes.BLOOD,
    AnalyzerKind.LIPID: Analytes.BLOOD,
    AnalyzerKind.URINE: Analytes.URINE,
}

analyzer_sim = functools.partial(
    AstmAnalyzerSimulator, interval=0.3, time_scale=0.1, retry_interval=0.05, residents=6, seed=11
)

Key = tuple[str | None, str, str, float]


class Gateway:
    """Stores every reading of a message, then accepts it, unless ``refuse`` says otherwise."""

    def __init__(self, port: Path, analytes: Analytes, refuse: Callable[[InboundMessage], bool]) -> None:
        self.stored: list[Reading] = []
        self.offers = 0
        self.rejected: list[str] = []
        self._refuse = refuse
        self.driver = AstmAnalyzerDriver(
            device_id="poc-1",
            port=str(port),
            serial=SerialSettings(),
            timezone=ZoneInfo("Asia/Shanghai"),
            pseudonymiser=Pseudonymiser(SECRET),
            on_rejected=self.rejected.append,
            analytes=analytes,
            timeouts=TIMEOUTS,
        )

    async def run(self) -> None:
        while True:
            try:
                await self.driver.open()
                async for inbound in self.driver.messages():
                    self.offers += 1
                    if self._refuse(inbound):
                        await inbound.reject("storage unavailable")
                        continue
                    self.stored.extend(inbound.readings)
                    await inbound.accept()
            except (DeviceUnavailable, DeviceDisconnected):
                await self.driver.close()
                await asyncio.sleep(RECONNECT_S)


@contextlib.asynccontextmanager
async def running(
    sim: AstmAnalyzerSimulator, analytes: Analytes, refuse: Callable[[InboundMessage], bool] = lambda _: False
) -> AsyncIterator[Gateway]:
    gateway = Gateway(sim.device_path, analytes, refuse)
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gateway.driver.close()


async def finish(sim: AstmAnalyzerSimulator) -> None:
    assert await asyncio.to_thread(sim.wait_finished, DONE_S)
    assert sim.error is None


def sent(transmissions: list[Transmission]) -> Counter[Key]:
    pseudonymiser = Pseudonymiser(SECRET)
    return Counter(
        (
            pseudonymiser.subject(result.resident_id) if result.resident_id else None,
            result.measured_at.astimezone(UTC).isoformat(),
            result.loinc,
            float(result.value),
        )
        for transmission in transmissions
        for result in transmission.storable
        if result.loinc is not None
    )


def stored(readings: list[Reading]) -> Counter[Key]:
    return Counter(
        (
            reading.subject,
            reading.measured_at.isoformat(),
            observation.code,
            float(observation.raw.value if observation.raw else observation.value),
        )
        for reading in readings
        for observation in reading.observations
    )


@pytest.mark.parametrize("kind", list(AnalyzerKind))
async def test_every_delivered_result_is_stored_once(kind: AnalyzerKind) -> None:
    with analyzer_sim(analyzer=kind, count=3) as sim:
        async with running(sim, ANALYTES[kind]) as gateway:
            await finish(sim)

    assert len(sim.acknowledged) == 3
    assert sent(sim.acknowledged), "the seed gives every analyzer something to store"
    assert stored(gateway.stored) == sent(sim.acknowledged)


@pytest.mark.parametrize(
    "faults",
    [
        FaultRates(bad_checksum=1.0),
        FaultRates(bad_frame_number=1.0),
        FaultRates(garbled_ack=1.0),
        FaultRates(line_noise=1.0),
    ],
    ids=["bad_checksum", "bad_frame_number", "garbled_ack", "line_noise"],
)
async def test_line_faults_are_recovered_without_loss_or_duplicates(faults: FaultRates) -> None:
    with analyzer_sim(analyzer=AnalyzerKind.LIPID, count=3, faults=faults) as sim:
        async with running(sim, Analytes.BLOOD) as gateway:
            await finish(sim)

    assert stored(gateway.stored) == sent(sim.acknowledged)
    assert len(sim.acknowledged) == 3
    counters = sim.counters
    injected = (
        counters.bad_checksums + counters.bad_frame_numbers + counters.garbled_acks + counters.noise_bursts
    )
    assert injected >= 3, counters


async def test_a_lost_ack_makes_the_analyzer_send_again_and_the_fingerprints_match() -> None:
    with analyzer_sim(analyzer=AnalyzerKind.GLUCOSE_METER, count=2, faults=FaultRates(lost_ack=1.0)) as sim:
        async with running(sim, Analytes.BLOOD) as gateway:
            await finish(sim)

    assert sim.counters.lost_acks == 2
    assert sim.counters.attempts == 4
    unique = {reading_fingerprint(reading): reading for reading in gateway.stored}
    assert stored(list(unique.values())) == sent(sim.acknowledged)


async def test_an_unplugged_cable_loses_nothing(tmp_path: Path) -> None:
    link = tmp_path / "usb-poc-if00"
    faults = FaultRates(unplug=1.0, unplug_s=0.1)
    with analyzer_sim(analyzer=AnalyzerKind.URINE, count=3, faults=faults, link=link) as sim:
        async with running(sim, Analytes.URINE) as gateway:
            await finish(sim)

    assert sim.counters.unplugs == 3
    assert gateway.rejected.count("partial_transmission") == 3
    assert stored(gateway.stored) == sent(sim.acknowledged)
    assert len(sim.acknowledged) == 3


async def test_a_stall_beyond_the_receiver_timeout_discards_and_the_resend_is_stored() -> None:
    faults = FaultRates(stall=1.0, stall_s=TIMEOUTS.frame_s + 0.3)
    with analyzer_sim(analyzer=AnalyzerKind.GLUCOSE_METER, count=1, faults=faults) as sim:
        async with running(sim, Analytes.BLOOD) as gateway:
            await finish(sim)

    assert sim.counters.stalls == 1
    assert gateway.rejected.count("timeout") == 1
    assert sim.counters.attempts == 2
    assert stored(gateway.stored) == sent(sim.acknowledged)


async def test_a_refusing_gateway_makes_the_analyzer_retry_later_until_stored() -> None:
    refusals = 7

    def refuse_first_offers(_: InboundMessage) -> bool:
        nonlocal refusals
        refusals -= 1
        return refusals >= 0

    with analyzer_sim(analyzer=AnalyzerKind.GLUCOSE_METER, count=2) as sim:
        async with running(sim, Analytes.BLOOD, refuse_first_offers) as gateway:
            await finish(sim)

    counters = sim.counters
    assert counters.aborts == 1, "six refusals of the final frame end the first attempt"
    assert counters.busy >= 1, "the next ENQ comes inside the busy window"
    assert len(sim.acknowledged) == 2
    assert stored(gateway.stored) == sent(sim.acknowledged)
    assert "sender_aborted" in gateway.rejected


async def test_no_resident_identifier_or_name_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    faults = FaultRates(bad_checksum=0.5, line_noise=0.5)
    with analyzer_sim(
        analyzer=AnalyzerKind.GLUCOSE_METER, count=4, faults=faults, quality_control=1.0
    ) as sim:
        async with running(sim, Analytes.BLOOD) as gateway:
            await finish(sim)

    assert gateway.stored
    text = caplog.text + repr(gateway.stored) + repr(sim.acknowledged)
    for resident in sim.residents:
        for secret in (resident.resident_id, resident.family_name, resident.given_name):
            assert secret not in text
