"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol): <VT> message <FS><CR>.

Pure and incremental: bytes from any transport go in, complete frames and framing errors come out,
so the same decoder serves serial ports and sockets and is tested on bytes alone.
"""

from __future__ import annotations

from dataclasses import dataclass

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
TRAILER = bytes([END_BLOCK, CARRIAGE_RETURN])
DEFAULT_MAX_FRAME = 1 << 20
"""A screening result is a few kilobytes; a megabyte without an end block is a broken sender."""


NOISE = "mllp_noise"
TRUNCATED = "mllp_truncated"
OVERSIZE = "mllp_oversize"
_DESCRIPTIONS = {
    NOISE: "bytes outside a frame",
    TRUNCATED: "start block inside an open frame",
    OVERSIZE: "frame exceeds size limit",
}


class MllpFramingError(Exception):
    """Bytes that cannot be part of a frame. ``offset`` counts from the start of the stream.

    ``code`` is the machine reason for rejection counters (``mllp_noise``, ``mllp_truncated``,
    ``mllp_oversize``); ``reason`` says the same for people.
    """

    def __init__(self, code: str, offset: int, discarded: int) -> None:
        self.code = code
        self.reason = _DESCRIPTIONS[code]
        self.offset = offset
        self.discarded = discarded
        super().__init__(f"{self.reason} at stream offset {offset} ({discarded} bytes discarded)")


@dataclass(frozen=True, slots=True)
class MllpFrame:
    payload: bytes
    offset: int
    """Stream offset of the frame's start block, for error reports."""


def frame(payload: bytes) -> bytes:
    """Wrap one HL7 message for the wire; the payload must not contain the framing bytes."""
    if START_BLOCK in payload or END_BLOCK in payload:
        raise ValueError("HL7 payload contains an MLLP framing byte (0x0B or 0x1C)")
    return bytes([START_BLOCK]) + payload + TRAILER


class MllpDecoder:
    """Reassembles frames from arbitrary chunks.

    Recovery rules, so one corrupt frame never swallows the next good one:
    - bytes outside a frame are reported and dropped (line noise, a sender that lost sync);
    - a start block inside an open frame abandons the open frame (a truncated message) and starts
      a new one;
    - a frame whose payload is longer than ``max_frame`` bytes is abandoned; its remaining bytes
      are then reported as bytes outside a frame.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._max_frame = max_frame
        self._buffer = bytearray()
        self._in_frame = False
        self._frame_offset = 0
        self._stream_offset = 0
        self._noise_start: int | None = None
        self._noise_count = 0

    def feed(self, data: bytes) -> list[MllpFrame | MllpFramingError]:
        """Consume ``data``; return the frames completed and the errors found, in stream order."""
        events: list[MllpFrame | MllpFramingError] = []
        for byte in data:
            position = self._stream_offset
            self._stream_offset += 1
            if not self._in_frame:
                if byte == START_BLOCK:
                    self._flush_noise(events)
                    self._open(position)
                else:
                    self._note_noise(position)
                continue
            if byte == START_BLOCK:
                events.append(MllpFramingError(TRUNCATED, position, len(self._buffer) + 1))
                self._open(position)
            elif byte == CARRIAGE_RETURN and self._buffer.endswith(bytes([END_BLOCK])):
                del self._buffer[-1]
                events.append(MllpFrame(bytes(self._buffer), self._frame_offset))
                self._in_frame = False
                self._buffer.clear()
            elif len(self._buffer) >= self._max_frame + (1 if byte == END_BLOCK else 0):
                # A full payload still has room for the end block that may close it.
                events.append(MllpFramingError(OVERSIZE, self._frame_offset, len(self._buffer) + 1))
                self._in_frame = False
                self._buffer.clear()
            else:
                self._buffer.append(byte)
        self._flush_noise(events)
        return events

    def reset(self) -> int:
        """Drop a partial frame (the port was closed); return how many bytes were dropped."""
        dropped = len(self._buffer) + (1 if self._in_frame else 0)
        self._buffer.clear()
        self._in_frame = False
        return dropped

    @property
    def partial(self) -> bool:
        return self._in_frame

    def _open(self, position: int) -> None:
        self._in_frame = True
        self._frame_offset = position
        self._buffer.clear()

    def _note_noise(self, position: int) -> None:
        if self._noise_start is None:
            self._noise_start = position
        self._noise_count += 1

    def _flush_noise(self, events: list[MllpFrame | MllpFramingError]) -> None:
        if self._noise_start is not None:
            events.append(MllpFramingError(NOISE, self._noise_start, self._noise_count))
            self._noise_start = None
            self._noise_count = 0
