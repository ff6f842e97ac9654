from __future__ import annotations

import pytest

from drivers.hl7.mllp import (
    NOISE,
    OVERSIZE,
    TRUNCATED,
    MllpDecoder,
    MllpFrame,
    MllpFramingError,
    frame,
)

MESSAGE = b"MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315100000||ORU^R01|M1|P|2.5\rOBX|1|NM|8867-4^HR^LN||70|/min\r"


def _frames(events: list[MllpFrame | MllpFramingError]) -> list[bytes]:
    return [event.payload for event in events if isinstance(event, MllpFrame)]


def _errors(events: list[MllpFrame | MllpFramingError]) -> list[tuple[str, int, int]]:
    return [(e.code, e.offset, e.discarded) for e in events if isinstance(e, MllpFramingError)]


def test_frame_wraps_in_start_block_and_trailer() -> None:
    assert frame(b"MSH|x\r") == b"\x0bMSH|x\r\x1c\r"


@pytest.mark.parametrize("byte", [b"\x0b", b"\x1c"])
def test_frame_refuses_a_payload_holding_a_framing_byte(byte: bytes) -> None:
    with pytest.raises(ValueError, match="framing byte"):
        frame(b"MSH|" + byte + b"|")


def test_frame_split_into_single_bytes_reassembles() -> None:
    decoder = MllpDecoder()
    events: list[MllpFrame | MllpFramingError] = []
    for byte in frame(MESSAGE):
        assert not _frames(events)
        events += decoder.feed(bytes([byte]))

    assert _frames(events) == [MESSAGE]
    assert not _errors(events)
    assert not decoder.partial


def test_two_frames_in_one_chunk_come_out_in_order() -> None:
    events = MllpDecoder().feed(frame(b"MSH|one\r") + frame(b"MSH|two\r"))

    assert _frames(events) == [b"MSH|one\r", b"MSH|two\r"]
    assert [e.offset for e in events if isinstance(e, MllpFrame)] == [0, 11]


def test_noise_between_frames_is_reported_with_its_offset_and_dropped() -> None:
    decoder = MllpDecoder()
    events = decoder.feed(frame(b"MSH|one\r") + b"\r\nATZ\r\n" + frame(b"MSH|two\r"))

    assert _frames(events) == [b"MSH|one\r", b"MSH|two\r"]
    assert _errors(events) == [(NOISE, 11, 7)]
    error = next(e for e in events if isinstance(e, MllpFramingError))
    assert "bytes outside a frame at stream offset 11 (7 bytes discarded)" in str(error)


def test_truncated_frame_is_abandoned_and_the_next_frame_survives() -> None:
    decoder = MllpDecoder()
    truncated = b"\x0bMSH|^~\\&|KIOSK|NH|||2024||ORU^R01|M0|P|2.5\rOBX|1|NM|8867-"
    events = decoder.feed(truncated[:20]) + decoder.feed(truncated[20:] + frame(MESSAGE))

    assert _frames(events) == [MESSAGE]
    assert _errors(events) == [(TRUNCATED, len(truncated), len(truncated))]


def test_payload_of_exactly_the_limit_is_accepted() -> None:
    payload = b"M" * 64
    events = MllpDecoder(max_frame=64).feed(frame(payload))

    assert _frames(events) == [payload]
    assert not _errors(events)


def test_oversize_frame_is_abandoned_and_the_next_frame_survives() -> None:
    decoder = MllpDecoder(max_frame=64)
    oversize = frame(b"M" * 65)
    events = decoder.feed(oversize + frame(b"MSH|next\r"))

    assert _frames(events) == [b"MSH|next\r"]
    # The trailer of the abandoned frame arrives outside any frame and is reported as noise.
    assert _errors(events) == [(OVERSIZE, 0, 65), (NOISE, 66, 2)]


def test_reset_drops_a_partial_frame_and_says_how_much() -> None:
    decoder = MllpDecoder()
    decoder.feed(b"\x0bMSH|par")

    assert decoder.partial
    assert decoder.reset() == 8
    assert not decoder.partial
    assert _frames(decoder.feed(frame(b"MSH|after\r"))) == [b"MSH|after\r"]


def test_end_block_without_carriage_return_stays_in_the_payload() -> None:
    events = MllpDecoder().feed(b"\x0bMSH|a\x1cb\r\x1c\r")

    assert _frames(events) == [b"MSH|a\x1cb\r"]


def test_every_split_of_a_mixed_stream_gives_the_same_frames_and_errors() -> None:
    """The decoder scans chunks for framing bytes: a chunk boundary anywhere (between the end block
    and its carriage return, at the size limit) must not change what comes out, noise aside (it is
    reported per chunk)."""
    stream = (
        b"xx"
        + frame(b"M" * 8)
        + bytes([0x0B])
        + b"cut"
        + frame(b"N" * 9)
        + b"\x0bP\x1c"
        + b"Q" * 6
        + b"\x1c\r"
        + frame(b"last\r")
    )
    whole = MllpDecoder(max_frame=8).feed(stream)
    expected = (_frames(whole), [error for error in _errors(whole) if error[0] != NOISE])
    assert expected[0] == [b"M" * 8, b"P\x1c" + b"Q" * 6, b"last\r"]
    assert [code for code, _, _ in expected[1]] == [TRUNCATED, OVERSIZE]

    for cut in range(1, len(stream)):
        decoder = MllpDecoder(max_frame=8)
        events = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert (_frames(events), [error for error in _errors(events) if error[0] != NOISE]) == expected, cut
