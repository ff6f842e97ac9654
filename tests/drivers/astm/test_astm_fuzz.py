"""Whatever an analyzer or the line sends, the receiver and the record layer answer without crashing:
the receiver only ever replies ACK or NAK, and a message either decodes or raises ``AstmError``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from careedge_common.pseudonym import Pseudonymiser
from drivers.astm.errors import AstmError
from drivers.astm.frames import ENQ, EOT, encode_frame, transmission_frames
from drivers.astm.link import AstmReceiver, LinkTimeouts, MessageReceived
from drivers.astm.message import parse_message
from drivers.astm.vocabulary import Analytes

PSEUDONYMISER = Pseudonymiser(b"site-secret-for-tests-0003")
RECORD_ALPHABET = "HPORLCQMSZ|\\^&0123456789.<>-+/ ,mgdLlNFXCIPQ#!$ \u738b\x02\x05"
records_text = st.text(alphabet=RECORD_ALPHABET, max_size=80)
header = st.sampled_from(["H|\\^&|||METER|||||||P|1|20250314090000", "H|\\^&", "H!@#$!!!X", "H|||", "P|1"])


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=40), verdicts=st.lists(st.booleans(), max_size=8))
def test_the_receiver_answers_any_byte_stream_with_ack_or_nak_only(
    chunks: list[bytes], verdicts: list[bool]
) -> None:
    receiver = AstmReceiver(LinkTimeouts(frame_s=5.0, verdict_s=2.0, busy_s=1.0))
    now = 0.0
    for chunk in chunks:
        now += 0.5
        for event in receiver.receive(chunk, now):
            if isinstance(event, MessageReceived) and verdicts:
                (receiver.accept if verdicts.pop() else receiver.reject)(event.hold, now)
        assert set(receiver.data_to_send()) <= {0x06, 0x15}


@settings(max_examples=300, deadline=None)
@given(first=header, rest=st.lists(records_text, max_size=12), analytes=st.sampled_from(list(Analytes)))
def test_any_records_decode_or_raise_astm_error(first: str, rest: list[str], analytes: Analytes) -> None:
    records = [first.encode(), *(record.encode() for record in rest)]
    error: AstmError | None = None
    try:
        message = parse_message(
            records, timezone=ZoneInfo("Asia/Shanghai"), pseudonymiser=PSEUDONYMISER, analytes=analytes
        )
    except AstmError as exc:
        error = exc
    if error is not None:
        assert str(error).startswith(f"{error.reason}: ")
    else:
        assert all(reading.observations for reading in message.readings)


@settings(max_examples=100, deadline=None)
@given(
    rest=st.lists(records_text.filter(lambda text: "\x02" not in text and "\x05" not in text), max_size=12)
)
def test_whatever_records_a_sender_frames_arrive_whole(rest: list[str]) -> None:
    records = [
        b"H|\\^&",
        *(record.encode() for record in rest if record and not record.startswith("L")),
        b"L|1|N",
    ]
    wire = (
        bytes([ENQ]) + b"".join(encode_frame(frame) for frame in transmission_frames(records)) + bytes([EOT])
    )
    receiver = AstmReceiver()

    events = receiver.receive(wire, 0.0)

    [message] = [event for event in events if isinstance(event, MessageReceived)]
    assert message.records == tuple(records)
