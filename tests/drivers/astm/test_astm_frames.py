"""E1381 frames on bytes. Checksums are worked by hand from the checksum rule of ASTM E1381 / CLSI
LIS01-A2 (transfer phase, frame checksum): the sum of the bytes from FN through ETX or ETB, modulo
256, as two upper-case hex digits. The first vector is also python-astm's test vector."""

from __future__ import annotations

import pytest

from drivers.astm.errors import LinkReason
from drivers.astm.frames import (
    MAX_TEXT_BYTES,
    Frame,
    FrameError,
    checksum,
    decode_frame,
    encode_frame,
    record_frames,
    transmission_frames,
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # '1' 31 + 'A' 41 + '|' 7C + 'B' 42 + '|' 7C + 'C' 43 + '|' 7C + 'D' 44 + CR 0D + ETX 03 = 2BF
        (b"1A|B|C|D\r\x03", b"BF"),
        # '1' 31 + 'H' 48 + '|' 7C + '\' 5C + '^' 5E + '&' 26 + CR 0D + ETX 03 = 1E5
        (b"1H|\\^&\r\x03", b"E5"),
        # '5' 35 + 'L' 4C + '|' 7C + '1' 31 + '|' 7C + 'N' 4E + CR 0D + ETX 03 = 208: a leading zero
        (b"5L|1|N\r\x03", b"08"),
        # '0' 30 + 'A' 41 + 'B' 42 + 'C' 43 + ETB 17 = 10D: an intermediate frame
        (b"0ABC\x17", b"0D"),
    ],
)
def test_checksum_vectors_worked_by_hand(body: bytes, expected: bytes) -> None:
    assert checksum(body) == expected


def test_a_frame_on_the_wire() -> None:
    assert encode_frame(Frame(1, b"A|B|C|D\r", final=True)) == b"\x021A|B|C|D\r\x03BF\r\n"
    assert encode_frame(Frame(0, b"ABC", final=False)) == b"\x020ABC\x170D\r\n"


def test_decode_reads_number_text_and_kind() -> None:
    assert decode_frame(b"\x021A|B|C|D\r\x03BF\r\n") == Frame(1, b"A|B|C|D\r", final=True)
    assert decode_frame(b"\x020ABC\x170D\r\n") == Frame(0, b"ABC", final=False)


def test_lower_case_checksum_and_a_missing_lf_are_accepted() -> None:
    assert decode_frame(b"\x021A|B|C|D\r\x03bf\r") == Frame(1, b"A|B|C|D\r", final=True)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x021A|B|C|D\r\x03BE\r\n", LinkReason.BAD_CHECKSUM),
        (b"\x021A|B|C|D\r\x03\x00F\r\n", LinkReason.BAD_CHECKSUM),
        (b"\x028A|B|C|D\r\x03BF\r\n", LinkReason.BAD_FRAME),
        (b"\x021A|B|C|D\r\x04BF\r\n", LinkReason.BAD_FRAME),
        (b"1A|B|C|D\r\x03BF\r\n", LinkReason.BAD_FRAME),
        (b"\x021A|B|C|D\r\x03BF\n", LinkReason.BAD_FRAME),
        (b"\x02\x03\r\n", LinkReason.BAD_FRAME),
        (
            encode_frame(Frame(2, b"x" * MAX_TEXT_BYTES, final=False)).replace(b"x", b"xx", 1),
            LinkReason.FRAME_TOO_LONG,
        ),
    ],
)
def test_decode_refuses_with_a_reason(raw: bytes, reason: LinkReason) -> None:
    with pytest.raises(FrameError) as caught:
        decode_frame(raw)
    assert caught.value.reason == reason


def test_a_control_character_in_the_text_is_refused_even_with_a_right_checksum() -> None:
    body = b"3R|1|^^^GLU|6.2\n|mmol/L\r\x03"
    raw = b"\x02" + body + checksum(body) + b"\r\n"

    with pytest.raises(FrameError) as caught:
        decode_frame(raw)

    assert caught.value.reason == LinkReason.BAD_CHARACTER
    assert "0x0A" in str(caught.value)


@pytest.mark.parametrize(
    "frame",
    [
        Frame(8, b"A", final=True),
        Frame(1, b"x" * (MAX_TEXT_BYTES + 1), final=True),
        Frame(1, b"A\x02B", final=True),
    ],
)
def test_encode_refuses_what_the_standard_forbids(frame: Frame) -> None:
    with pytest.raises(ValueError, match=r"frame number|at most 240|control character"):
        encode_frame(frame)


def test_a_long_record_is_split_into_intermediate_frames_and_an_end_frame() -> None:
    record = b"C|1|I|" + b"y" * 494

    frames = record_frames(record, first_number=7)

    assert [(frame.number, frame.final, len(frame.text)) for frame in frames] == [
        (7, False, 240),
        (0, False, 240),
        (1, True, 21),
    ]
    assert b"".join(frame.text for frame in frames) == record + b"\r"
    assert all(len(encode_frame(frame)) <= 247 for frame in frames)


def test_every_record_starts_a_new_frame_and_numbers_wrap_after_seven() -> None:
    records = [b"H|\\^&", *(f"R|{n}|^^^GLU|5.{n}|mmol/L".encode() for n in range(1, 9)), b"L|1|N"]

    frames = transmission_frames(records)

    assert [frame.number for frame in frames] == [1, 2, 3, 4, 5, 6, 7, 0, 1, 2]
    assert [frame.text for frame in frames] == [record + b"\r" for record in records]
    assert all(frame.final for frame in frames)
