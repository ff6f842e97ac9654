"""Corrupted transmissions on bytes alone, fault plans, fault options, and ACK parsing."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import hl7
import pytest

from drivers.hl7.mllp import START_BLOCK, MllpDecoder, MllpFrame, MllpFramingError, frame
from firmware_sim.kiosk.ack import AckCode, AckError, parse_ack
from firmware_sim.kiosk.faults import (
    Fault,
    FaultPlan,
    FaultRates,
    garbled_frame,
    parse_fault_rates,
    plan_faults,
    truncated_frame,
)
from firmware_sim.kiosk.messages import MessageBuilder
from firmware_sim.kiosk.residents import Resident

PAYLOAD = (
    MessageBuilder(
        rng=random.Random(1),
        facility="F",
        device_id="K",
        clock=lambda: datetime(2025, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=8))),
    )
    .build(Resident("110105194503071234", "张", "秀英"), "CTRL000001")
    .payload
)


def readable_hl7(payload: bytes) -> bool:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.startswith("MSH|") and str(hl7.parse(text).segment("MSH")(10)) == "CTRL000001"


def test_the_unharmed_payload_is_readable() -> None:
    assert readable_hl7(PAYLOAD)


@pytest.mark.parametrize("seed", range(200))
def test_a_garbled_frame_is_well_framed_but_never_readable(seed: int) -> None:
    data = garbled_frame(PAYLOAD, random.Random(seed))
    events = MllpDecoder().feed(data)
    assert len(events) == 1
    assert isinstance(events[0], MllpFrame)
    assert events[0].payload != PAYLOAD
    assert not readable_hl7(events[0].payload)


@pytest.mark.parametrize("seed", range(20))
def test_a_truncated_frame_is_abandoned_and_the_next_frame_still_decodes(seed: int) -> None:
    data = truncated_frame(PAYLOAD, random.Random(seed))
    assert data[0] == START_BLOCK
    assert PAYLOAD.startswith(data[1:])
    assert len(data) < len(PAYLOAD)
    decoder = MllpDecoder()
    assert decoder.feed(data) == []
    events = decoder.feed(frame(PAYLOAD))
    assert isinstance(events[0], MllpFramingError)
    assert isinstance(events[1], MllpFrame)
    assert events[1].payload == PAYLOAD


def test_fault_plan_follows_rates_and_replays_with_the_seed() -> None:
    rates = FaultRates(garbled=0.2, truncated=0.2, silence=0.1, unplug=0.05)
    plans = [plan_faults(rates, random.Random(4)) for _ in range(3)]
    assert plans[0] == plans[1] == plans[2]
    rng = random.Random(11)
    many = [plan_faults(rates, rng) for _ in range(4000)]
    garbled = sum(plan.corruption is Fault.GARBLED for plan in many) / len(many)
    unplugs = sum(plan.unplug for plan in many) / len(many)
    assert 0.17 < garbled < 0.23
    assert 0.03 < unplugs < 0.07
    assert all(plan_faults(FaultRates(), rng) == FaultPlan() for _ in range(100))


def test_fault_options_parse_and_reject_with_the_offending_spec() -> None:
    rates = parse_fault_rates(["garbled=0.1", "unplug=0.5"], silence_s=1.0, unplug_s=0.5)
    assert rates == FaultRates(garbled=0.1, unplug=0.5, silence_s=1.0, unplug_s=0.5)
    with pytest.raises(ValueError, match=re.escape("'noise=0.1'")):
        parse_fault_rates(["noise=0.1"], 1.0, 1.0)
    with pytest.raises(ValueError, match="'garbled=lots'"):
        parse_fault_rates(["garbled=lots"], 1.0, 1.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_fault_rates(["silence=1.5"], 1.0, 1.0)


def test_ack_codes_and_control_id_are_read_from_msa() -> None:
    message = hl7.parse(PAYLOAD.decode("utf-8"))
    for code in ("AA", "AE", "AR", "CA"):
        ack = parse_ack(str(message.create_ack(code)).encode())
        assert ack.code == AckCode(code)
        assert ack.control_id == "CTRL000001"
        assert ack.code.accepted == (code in ("AA", "CA"))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not UTF-8 at byte 0"),
        (b"MSH|^~\\&|A|B|C|D|20250101||ACK|1|P|2.5\r", "no MSA segment"),
        (b"MSH|^~\\&|A|B|C|D|20250101||ACK|1|P|2.5\rMSA|OK|X\r", "'OK' is not an acknowledgement code"),
        (b"MSH|^~\\&|A|B|C|D|20250101||ACK|1|P|2.5\rMSA|AA\r", "MSA-2"),
        (b"hello", "no MSA segment"),
    ],
)
def test_unusable_replies_raise_ack_error(payload: bytes, reason: str) -> None:
    with pytest.raises(AckError, match=reason):
        parse_ack(payload)
