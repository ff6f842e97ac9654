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
_END = bytes([END_BLOCK])
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
        """Consume ``data``; return the frames completed and the errors found, in stream order.

        Scans for the framing bytes with ``bytes.find`` instead of looking at each byte in Python:
        every kiosk message passes through here, and a loop per byte cost more than the rest of
        the framing."""
        events: list[MllpFrame | MllpFramingError] = []
        base = self._stream_offset
        self._stream_offset += len(data)
        index = 0
        while index < len(data):
            if self._in_frame:
                index = self._read_frame(data, index, base, events)
                continue
            start = data.find(START_BLOCK, index)
            if start < 0:
                self._note_noise(base + index, len(data) - index)
                break
            if start > index:
                self._note_noise(base + index, start - index)
            self._flush_noise(events)
            self._open(base + start)
            index = start + 1
        self._flush_noise(events)
        return events

    def _read_frame(
        self, data: bytes, index: int, base: int, events: list[MllpFrame | MllpFramingError]
    ) -> int:
        """Take bytes of the open frame from ``data[index:]`` up to the next event (start block, end
        of frame, size limit); return where to go on."""
        start = data.find(START_BLOCK, index)
        bound = len(data) if start < 0 else start
        if self._buffer.endswith(_END) and index < bound and data[index] == CARRIAGE_RETURN:
            closing = index
        else:
            trailer = data.find(TRAILER, index, bound)
            closing = -1 if trailer < 0 else trailer + 1
        stop = bound if closing < 0 else closing
        taken = stop - index
        room = self._max_frame - len(self._buffer)
        if taken > room:
            # A full payload still has room for the end block that may close it.
            fits = max(room, 0)
            if room >= 0 and data[index + fits] == END_BLOCK:
                fits += 1
            if fits < taken:
                self._buffer += data[index : index + fits]
                events.append(MllpFramingError(OVERSIZE, self._frame_offset, len(self._buffer) + 1))
                self._in_frame = False
                self._buffer.clear()
                return index + fits + 1
        self._buffer += data[index:stop]
        if stop == closing:
            del self._buffer[-1]
            events.append(MllpFrame(bytes(self._buffer), self._frame_offset))
            self._in_frame = False
            self._buffer.clear()
            return closing + 1
        if stop == start:
            events.append(MllpFramingError(TRUNCATED, base + start, len(self._buffer) + 1))
            self._open(base + start)
            return start + 1
        return stop

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

    def _note_noise(self, position: int, count: int) -> None:
        if self._noise_start is None:
            self._noise_start = position
        self._noise_count += count

    def _flush_noise(self, events: list[MllpFrame | MllpFramingError]) -> None:
        if self._noise_start is not None:
            events.append(MllpFramingError(NOISE, self._noise_start, self._noise_count))
            self._noise_start = None
            self._noise_count = 0
