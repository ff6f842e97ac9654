"""The kiosk driver over a real pseudo-terminal: the test writes frames as the kiosk and reads ACKs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import hl7
import pytest

from careedge_common.config import DeviceConfig
from careedge_common.pseudonym import Pseudonymiser
from drivers.contract import DeviceDisconnected, DeviceUnavailable, InboundMessage
from drivers.hl7.driver import Hl7KioskDriver
from drivers.hl7.mllp import frame

WAIT_S = 5.0
SECRET = b"site-secret-for-tests-0001"


def _message(control_id: str, systolic: str = "132", pid: str = "H00123^^^SUNSHINE_NH^MR") -> bytes:
    return (
        f"MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315093012||ORU^R01|{control_id}|P|2.5\r"
        f"PID|1||{pid}||WANG^FANG\r"
        f"OBX|1|NM|8480-6^Systolic^LN||{systolic}|mm[Hg]|||||F|||20240315092912\r"
        "OBX|2|NM|8302-2^Body height^LN||156|cm|||||F\r"
    ).encode()


class Kiosk:
    """The driver under test plus what it reported, on one pty."""

    def __init__(self, pty_pair) -> None:
        self.pty = pty_pair
        self.rejected: list[str] = []
        config = DeviceConfig(id="kiosk-1", kind="hl7_kiosk", port=pty_pair.path, ack_timeout_s=10)
        self.driver = Hl7KioskDriver(
            config,
            timezone=ZoneInfo("Asia/Shanghai"),
            pseudonymiser=Pseudonymiser(SECRET),
            on_rejected=self.rejected.append,
        )
        self.messages: AsyncIterator[InboundMessage] = self.driver.messages()

    async def next_message(self) -> InboundMessage:
        return await asyncio.wait_for(anext(self.messages), WAIT_S)

    async def acks(self, count: int) -> list[hl7.Message]:
        frames = await asyncio.to_thread(self.pty.receive_frames, count, WAIT_S)
        return [hl7.parse(payload.decode()) for payload in frames]


@pytest.fixture
async def kiosk(pty_pair) -> AsyncIterator[Kiosk]:
    kiosk = Kiosk(pty_pair)
    await kiosk.driver.open()
    yield kiosk
    await kiosk.driver.close()


async def test_good_message_is_yielded_and_accept_sends_aa(kiosk: Kiosk) -> None:
    kiosk.pty.send(frame(_message("MSG-1")))

    inbound = await kiosk.next_message()

    [reading] = inbound.readings
    assert reading.device_id == "kiosk-1"
    assert reading.source_ref == "MSG-1"
    assert reading.subject == Pseudonymiser(SECRET).subject("H00123", "SUNSHINE_NH")
    assert [(o.code, o.value, o.unit) for o in reading.observations] == [("8480-6", 132, "mm[Hg]")]
    assert reading.measured_at.isoformat() == "2024-03-15T01:29:12+00:00"
    assert "H00123" not in repr(reading)
    assert kiosk.rejected == ["unmapped_code"]

    await inbound.accept()

    [ack] = await kiosk.acks(1)
    assert (str(ack["MSA.F1"]), str(ack["MSA.F2"])) == ("AA", "MSG-1")


async def test_reject_sends_ae_with_the_edges_reason(kiosk: Kiosk) -> None:
    kiosk.pty.send(frame(_message("MSG-2")))
    inbound = await kiosk.next_message()

    await inbound.reject("outbox_full")

    [ack] = await kiosk.acks(1)
    assert (str(ack["MSA.F1"]), str(ack["MSA.F2"])) == ("AE", "MSG-2")
    assert str(ack["MSA.F3"]).startswith("outbox_full: ")


async def test_only_the_first_answer_reaches_the_kiosk(kiosk: Kiosk) -> None:
    kiosk.pty.send(frame(_message("MSG-3")))
    inbound = await kiosk.next_message()
    await inbound.accept()
    await inbound.reject("too_late")
    kiosk.pty.send(frame(_message("MSG-4")))
    await (await kiosk.next_message()).accept()

    acks = await kiosk.acks(2)

    assert [(str(a["MSA.F1"]), str(a["MSA.F2"])) for a in acks] == [("AA", "MSG-3"), ("AA", "MSG-4")]


async def test_malformed_message_is_answered_ae_counted_and_reading_goes_on(
    kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="drivers.hl7.driver")
    kiosk.pty.send(frame(_message("BAD-1", systolic="12O")) + frame(_message("MSG-5")))

    inbound = await kiosk.next_message()

    assert inbound.readings[0].source_ref == "MSG-5"
    [ae] = await kiosk.acks(1)
    assert (str(ae["MSA.F1"]), str(ae["MSA.F2"])) == ("AE", "BAD-1")
    assert str(ae["MSA.F3"]).startswith("bad_value: OBX[1]-5")
    assert kiosk.rejected == ["bad_value", "unmapped_code"]
    assert "bad_value" in caplog.text
    assert "H00123" not in caplog.text
    assert "WANG" not in caplog.text


async def test_message_without_control_id_gets_no_answer(kiosk: Kiosk) -> None:
    kiosk.pty.send(frame(_message("")) + b"line noise" + frame(_message("MSG-6")))

    inbound = await kiosk.next_message()
    await inbound.accept()

    # The first frame the kiosk gets is the AA for MSG-6: nothing was sent for the other two.
    [ack] = await kiosk.acks(1)
    assert (str(ack["MSA.F1"]), str(ack["MSA.F2"])) == ("AA", "MSG-6")
    assert kiosk.rejected == ["no_control_id", "mllp_noise", "unmapped_code"]


async def test_unplugged_kiosk_ends_readings_with_device_disconnected(kiosk: Kiosk) -> None:
    kiosk.pty.send(frame(_message("MSG-7")) + b"\x0bMSH|^~\\&|KIOSK|NH|CAREEDGE|GW|2024")
    await kiosk.next_message()

    kiosk.pty.hang_up()

    with pytest.raises(DeviceDisconnected):
        await kiosk.next_message()
    assert kiosk.rejected == ["unmapped_code", "mllp_partial"]


async def test_open_twice_and_close_twice_are_safe(pty_pair) -> None:
    kiosk = Kiosk(pty_pair)
    await kiosk.driver.open()
    await kiosk.driver.open()
    pty_pair.send(frame(_message("MSG-8")))

    assert (await kiosk.next_message()).readings[0].source_ref == "MSG-8"
    await kiosk.driver.close()
    await kiosk.driver.close()


async def test_missing_port_is_unavailable() -> None:
    config = DeviceConfig(id="kiosk-9", kind="hl7_kiosk", port="/dev/careedge-no-such-tty")
    driver = Hl7KioskDriver(
        config, timezone=ZoneInfo("UTC"), pseudonymiser=Pseudonymiser(SECRET), on_rejected=print
    )

    with pytest.raises(DeviceUnavailable, match="careedge-no-such-tty"):
        await driver.open()
    await driver.close()


async def test_one_session_at_several_times_is_one_message_of_several_readings(kiosk: Kiosk) -> None:
    session = (
        b"MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315093012||ORU^R01|MSG-9|P|2.5\r"
        b"PID|1||H00123^^^SUNSHINE_NH^MR||WANG^FANG\r"
        b"OBX|1|NM|8480-6^Systolic^LN||132|mm[Hg]|||||F|||20240315092912\r"
        b"OBX|2|NM|8867-4^Pulse^LN||71|/min|||||F|||20240315092912\r"
        b"OBX|3|NM|59408-5^SpO2^LN||97|%|||||F|||20240315093001\r"
        b"OBX|4|NM|8867-4^Pulse^LN||73|/min|||||F|||20240315093001\r"
        b"OBX|5|NM|8867-4^Pulse^LN||75|/min|||||F|||20240315093001\r"
    )
    kiosk.pty.send(frame(session))

    inbound = await kiosk.next_message()

    assert [
        (r.measured_at.isoformat(), [(o.code, o.value) for o in r.observations]) for r in inbound.readings
    ] == [
        ("2024-03-15T01:29:12+00:00", [("8480-6", 132), ("8867-4", 71)]),
        ("2024-03-15T01:30:01+00:00", [("59408-5", 97), ("8867-4", 73)]),
    ]
    assert kiosk.rejected == ["duplicate_code"]
    await inbound.accept()
    [ack] = await kiosk.acks(1)
    assert (str(ack["MSA.F1"]), str(ack["MSA.F2"])) == ("AA", "MSG-9")
