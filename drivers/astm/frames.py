"""ASTM E1381 (CLSI LIS01-A2) frames: the unit the low-level protocol acknowledges.

A frame is ``<STX> FN text <ETB|ETX> C1 C2 <CR> <LF>`` (ASTM E1381, CLSI LIS01-A2, transfer phase):
- FN, the frame number, is one ASCII digit 0-7. The first frame of a transmission is 1, each new
  frame adds one modulo 8, and a retransmitted frame keeps its number, which is how a receiver
  tells a repeat from a new frame;
- the text holds at most 240 bytes, so a frame is at most 247 bytes with its seven framing bytes.
  A record (E1394) and its terminating CR that do not fit are split: intermediate frames end in
  ETB, the last one in ETX. Every record begins in a new frame;
- C1 C2 is the checksum: the sum of the bytes from FN through ETB/ETX inclusive, modulo 256,
  written as two upper-case hexadecimal digits (STX, the checksum itself and CR LF are not summed);
- the text never holds a control character of the protocol (``RESTRICTED``); CR ends a record.

Pure: bytes in, typed values out; the receiver (``link``) and the simulator both build on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.astm.errors import LinkReason

SOH = 0x01
STX = 0x02
ETX = 0x03
EOT = 0x04
ENQ = 0x05
ACK = 0x06
LF = 0x0A
CR = 0x0D
DLE = 0x10
DC1, DC2, DC3, DC4 = 0x11, 0x12, 0x13, 0x14
NAK = 0x15
SYN = 0x16
ETB = 0x17

FRAME_NUMBERS = 8
"""Frame numbers run 0-7 and wrap around."""
FIRST_FRAME_NUMBER = 1
MAX_TEXT_BYTES = 240
FRAME_OVERHEAD_BYTES = 7
"""STX, FN, ETB/ETX, C1, C2, CR, LF."""
MAX_FRAME_BYTES = MAX_TEXT_BYTES + FRAME_OVERHEAD_BYTES
RESTRICTED = frozenset({SOH, STX, ETX, EOT, ENQ, ACK, DLE, NAK, SYN, ETB, LF, DC1, DC2, DC3, DC4})
"""E1381's restricted message characters, never in frame text: they steer the link or would confuse it."""


class FrameError(Exception):
    """A complete frame the receiver must answer with NAK; ``reason`` is the machine code."""

    def __init__(self, reason: LinkReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Frame:
    number: int
    """0-7."""
    text: bytes
    final: bool
    """True for an end frame (ETX, the record is complete), False for an intermediate one (ETB)."""


def checksum(body: bytes) -> bytes:
    """C1 C2 for ``body``, the bytes from FN through ETB/ETX inclusive."""
    return f"{sum(body) % 256:02X}".encode("ascii")


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame`` on the wire; raises ``ValueError`` for a frame the standard forbids."""
    if not 0 <= frame.number < FRAME_NUMBERS:
        raise ValueError(f"frame number 0-7, found {frame.number}")
    if len(frame.text) > MAX_TEXT_BYTES:
        raise ValueError(f"frame text of at most {MAX_TEXT_BYTES} bytes, found {len(frame.text)}")
    if any(byte in RESTRICTED for byte in frame.text):
        raise ValueError("frame text holds a control character E1381 forbids there")
    body = bytes([ord("0") + frame.number]) + frame.text + bytes([ETX if frame.final else ETB])
    return bytes([STX]) + body + checksum(body) + bytes([CR, LF])


def decode_frame(raw: bytes) -> Frame:
    """The frame in ``raw``, which runs from STX through the CR after the checksum (LF optional).

    Raises ``FrameError``: ``bad_frame`` (not shaped as a frame), ``frame_too_long`` (text over 240
    bytes), ``bad_checksum``, ``bad_character`` (a restricted byte in the text). Checksum digits
    are compared without case: a sender writing ``bf`` for ``BF`` has still summed correctly.
    """
    trailer = 2 if raw.endswith(bytes([CR, LF])) else 1
    if (
        not raw.startswith(bytes([STX]))
        or raw[-trailer] != CR
        or len(raw) < FRAME_OVERHEAD_BYTES - 2 + trailer
    ):
        raise FrameError(LinkReason.BAD_FRAME, f"STX FN text ETB|ETX C1 C2 CR LF, found {len(raw)} bytes")
    end = len(raw) - trailer - 3
    number, text, terminator = raw[1], raw[2:end], raw[end]
    received = raw[end + 1 : end + 3].upper()
    if terminator not in (ETX, ETB):
        raise FrameError(LinkReason.BAD_FRAME, f"ETX or ETB before the checksum, found 0x{terminator:02X}")
    if not ord("0") <= number < ord("0") + FRAME_NUMBERS:
        raise FrameError(LinkReason.BAD_FRAME, f"a frame number 0-7 after STX, found 0x{number:02X}")
    if len(text) > MAX_TEXT_BYTES:
        raise FrameError(
            LinkReason.FRAME_TOO_LONG, f"at most {MAX_TEXT_BYTES} bytes of text, found {len(text)}"
        )
    expected = checksum(raw[1 : end + 1])
    if received != expected:
        found = received.decode("ascii", "replace")
        raise FrameError(
            LinkReason.BAD_CHECKSUM, f"checksum {expected.decode()} for frame {chr(number)}, found {found!r}"
        )
    restricted = next((byte for byte in text if byte in RESTRICTED), None)
    if restricted is not None:
        raise FrameError(LinkReason.BAD_CHARACTER, f"control character 0x{restricted:02X} inside the text")
    return Frame(number - ord("0"), text, final=terminator == ETX)


def record_frames(record: bytes, first_number: int) -> list[Frame]:
    """The frames that carry one record (given without its CR), numbered from ``first_number``."""
    text = record + bytes([CR])
    chunks = [text[start : start + MAX_TEXT_BYTES] for start in range(0, len(text), MAX_TEXT_BYTES)]
    return [
        Frame((first_number + index) % FRAME_NUMBERS, chunk, final=index == len(chunks) - 1)
        for index, chunk in enumerate(chunks)
    ]


def transmission_frames(records: Sequence[bytes]) -> list[Frame]:
    """The frames of a transmission carrying ``records`` in order, numbered from 1."""
    frames: list[Frame] = []
    for record in records:
        frames.extend(record_frames(record, FIRST_FRAME_NUMBER + len(frames)))
    return frames
