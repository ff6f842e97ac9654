"""The ASTM driver over a real pseudo-terminal: the test writes what an analyzer sends and reads the
driver's ACK/NAK bytes back."""

from __future__ import annotations

import asyncio
import logging
import select
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from careedge_common.config import SerialSettings
from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.driver import AstmAnalyzerDriver
from drivers.astm.frames import encode_frame, transmission_frames
from drivers.astm.link import STANDARD_TIMEOUTS, LinkTimeouts
from drivers.contract import DeviceDisconnected, DeviceUnavailable, InboundMessage

WAIT_S = 5.0
SECRET = b"site-secret-for-tests-0001"
AUTHORITY = "SUNSHINE_NH"
ENQ, ACK, NAK, EOT = b"\x05", b"\x06", b"\x15", b"\x04"
RESIDENT_ID, FAMILY, GIVEN = "CH000101", "WANG", "FANG"


def message(result: bytes = b"R|1|^^^GLU|112|mg/dL|70-140|N||F||||20250314073015") -> tuple[bytes, ...]:
    return (
        b"H|\\^&|||METER^2.1|||||||P|1|20250314090000",
        f"P|1|{RESIDENT_ID}|||{FAMILY}^{GIVEN}||19400312|F".encode(),
        b"O|1|00017||^^^GLU|R||20250314073000",
        result,
        b"L|1|N",
    )


def frames(*records: bytes) -> list[bytes]:
    return [encode_frame(frame) for frame in transmission_frames(records)]


class Analyzer:
    """The driver under test, what it counted, and the pty the test plays the analyzer on."""

    def __init__(self, pty_pair: Any, timeouts: LinkTimeouts = STANDARD_TIMEOUTS) -> None:
        self.pty = pty_pair
        self.rejected: list[str] = []
        self.driver = AstmAnalyzerDriver(
            device_id="poc-1",
            port=pty_pair.path,
            serial=SerialSettings(),
            timezone=ZoneInfo("Asia/Shanghai"),
            pseudonymiser=Pseudonymiser(SECRET),
            on_rejected=self.rejected.append,
            patient_id_authority=AUTHORITY,
            timeouts=timeouts,
        )
        self.messages: AsyncIterator[InboundMessage] = self.driver.messages()

    async def next_message(self) -> InboundMessage:
        return await asyncio.wait_for(anext(self.messages), WAIT_S)

    async def replies(self, count: int) -> bytes:
        received: bytes = await asyncio.to_thread(self.pty.receive, count, WAIT_S)
        return received

    def nothing_more_sent(self) -> bool:
        ready, _, _ = select.select([self.pty.master], [], [], 0)
        return not ready


@pytest.fixture
async def analyzer(pty_pair: Any) -> AsyncIterator[Analyzer]:
    analyzer = Analyzer(pty_pair)
    await analyzer.driver.open()
    yield analyzer
    await analyzer.driver.close()


async def test_the_last_frame_is_acknowledged_only_when_the_edge_accepts(analyzer: Analyzer) -> None:
    wire = frames(*message())
    analyzer.pty.send(ENQ + b"".join(wire))

    inbound = await analyzer.next_message()

    assert await analyzer.replies(len(wire)) == ACK * len(wire), "ENQ and every frame but the last"
    assert analyzer.nothing_more_sent()
    [reading] = inbound.readings
    assert reading.device_id == "poc-1"
    assert reading.source_ref == "METER"
    assert reading.subject == Pseudonymiser(SECRET).subject(RESIDENT_ID, AUTHORITY)
    assert reading.measured_at.isoformat() == "2025-03-13T23:30:15+00:00"
    assert [(o.code, o.value, o.unit) for o in reading.observations] == [("2339-0", 6.2, "mmol/L")]
    for secret in (RESIDENT_ID, FAMILY, GIVEN):
        assert secret not in repr(inbound.readings)

    await inbound.accept()

    assert await analyzer.replies(1) == ACK
    assert analyzer.rejected == []


async def test_reject_answers_nak_and_the_retransmitted_frame_is_offered_again(analyzer: Analyzer) -> None:
    wire = frames(*message())
    analyzer.pty.send(ENQ + b"".join(wire))
    first = await analyzer.next_message()
    await analyzer.replies(len(wire))

    await first.reject("storage unavailable")

    assert await analyzer.replies(1) == NAK
    analyzer.pty.send(wire[-1])
    second = await analyzer.next_message()
    assert second.readings == first.readings
    await second.accept()
    assert await analyzer.replies(1) == ACK


async def test_without_a_verdict_in_time_the_driver_answers_nak(
    pty_pair: Any, caplog: pytest.LogCaptureFixture
) -> None:
    analyzer = Analyzer(pty_pair, LinkTimeouts(verdict_s=0.2))
    await analyzer.driver.open()
    wire = frames(*message())
    analyzer.pty.send(ENQ + b"".join(wire))
    inbound = await analyzer.next_message()
    await analyzer.replies(len(wire))

    assert await analyzer.replies(1) == NAK
    assert analyzer.rejected == ["verdict_timeout"]
    await inbound.accept()

    assert analyzer.nothing_more_sent(), "a late accept cannot answer a frame already refused"
    assert "after its verdict deadline" in caplog.text
    await analyzer.driver.close()


async def test_a_corrupted_frame_is_answered_nak_and_its_retransmission_taken(analyzer: Analyzer) -> None:
    wire = frames(*message())
    corrupted = wire[1].replace(b"WANG", b"WANX")
    analyzer.pty.send(ENQ + wire[0] + corrupted + b"".join(wire[1:]))

    inbound = await analyzer.next_message()

    assert await analyzer.replies(len(wire) + 1) == ACK * 2 + NAK + ACK * (len(wire) - 2)
    assert analyzer.rejected == ["bad_checksum"]
    assert len(inbound.readings) == 1


async def test_an_unusable_message_is_acknowledged_by_the_driver_and_the_next_one_read(
    analyzer: Analyzer,
) -> None:
    unusable = frames(*message(b"R|1|^^^HBA1C|6.1|%||N||F||||20250314073015"))
    headless = frames(b"P|1|CH000102", b"L|1|N")
    usable = frames(*message())
    analyzer.pty.send(
        ENQ + b"".join(unusable) + EOT + ENQ + b"".join(headless) + EOT + ENQ + b"".join(usable)
    )

    inbound = await analyzer.next_message()

    expected = ACK * (1 + len(unusable)) + ACK * (1 + len(headless)) + ACK * len(usable)
    assert await analyzer.replies(len(expected)) == expected
    assert analyzer.rejected == ["unmapped_code", "no_header"]
    assert [o.code for o in inbound.readings[0].observations] == ["2339-0"]


async def test_after_a_refused_message_the_next_enq_is_answered_busy(analyzer: Analyzer) -> None:
    wire = frames(*message())
    analyzer.pty.send(ENQ + b"".join(wire))
    inbound = await analyzer.next_message()
    await inbound.reject("storage unavailable")
    await analyzer.replies(len(wire) + 1)
    pending = asyncio.create_task(analyzer.next_message())

    analyzer.pty.send(EOT + ENQ)

    assert await analyzer.replies(1) == NAK
    pending.cancel()
    # The driver counts the refusal just after writing the NAK, on its own task.
    await asyncio.wait_for(_until(lambda: len(analyzer.rejected) >= 2), 5)
    assert analyzer.rejected == ["sender_aborted", "busy"]


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_an_unplugged_analyzer_ends_messages_with_device_disconnected(analyzer: Analyzer) -> None:
    wire = frames(*message())
    pending = asyncio.create_task(analyzer.next_message())
    analyzer.pty.send(ENQ + wire[0] + wire[1])
    await analyzer.replies(3)

    analyzer.pty.hang_up()

    with pytest.raises(DeviceDisconnected):
        await pending
    assert analyzer.rejected == ["partial_transmission"]


async def test_logs_name_positions_never_patient_data(
    analyzer: Analyzer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="drivers.astm")
    bad = frames(*message(b"R|1|^^^GLU|HI|mg/dL||>||F||||20250314073015"))
    wire = frames(*message())
    analyzer.pty.send(ENQ + b"".join(bad) + EOT + ENQ + b"".join(wire))

    inbound = await analyzer.next_message()
    await inbound.accept()

    assert "censored_value" in caplog.text
    assert "R[1]-4 (record 4)" in caplog.text
    for secret in (RESIDENT_ID, FAMILY, GIVEN):
        assert secret not in caplog.text


async def test_open_twice_and_close_twice_are_safe(pty_pair: Any) -> None:
    analyzer = Analyzer(pty_pair)
    await analyzer.driver.open()
    await analyzer.driver.open()
    analyzer.pty.send(ENQ + b"".join(frames(*message())))

    assert len((await analyzer.next_message()).readings) == 1
    await analyzer.driver.close()
    await analyzer.driver.close()


async def test_a_missing_port_is_unavailable() -> None:
    driver = AstmAnalyzerDriver(
        device_id="poc-9",
        port="/dev/careedge-no-such-tty",
        serial=SerialSettings(),
        timezone=ZoneInfo("UTC"),
        pseudonymiser=Pseudonymiser(SECRET),
        on_rejected=print,
    )

    with pytest.raises(DeviceUnavailable, match="careedge-no-such-tty"):
        await driver.open()
    await driver.close()
