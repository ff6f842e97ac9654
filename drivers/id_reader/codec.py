"""Codes from ID-card and barcode/QR readers that send one code per line on a serial port.

Readers in serial (RS-232 or USB virtual COM) mode send each code followed by CR, LF or CRLF, with
an optional prefix and suffix set in the reader's own configuration. ``LineDecoder`` is pure: bytes
in, codes or errors out, so it is tested on bytes without a port.

A code is a resident identifier. ``IdCodeError`` therefore names the reason and the byte position
in the line, never the code or any part of it, and ``ScannedCode`` hides its value from ``repr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from careedge_common.config import IdCodeFormat

MAX_LINE_BYTES = 256
"""Longer than any ID card number (18) or care-home QR payload; a longer run is line noise."""
LINE_ENDS = frozenset(b"\r\n")
"""CR, LF and CRLF all end a line; the empty line between CR and LF is skipped."""
CODE_SPACES = " "
"""Spaces around a code (some readers pad fixed-width fields) are not part of it."""


class Reason(StrEnum):
    TOO_LONG = "too_long"
    """No line end within ``MAX_LINE_BYTES``; everything up to the next line end is dropped."""
    ENCODING = "encoding"
    """The line is not UTF-8."""
    CONTROL_CHARACTER = "control_character"
    """A control character (tab, escape, ...) inside the line."""
    MISSING_PREFIX = "missing_prefix"
    """The reader is configured to send a prefix and this line lacks it."""
    MISSING_SUFFIX = "missing_suffix"
    """Likewise for the suffix."""
    EMPTY = "empty"
    """Nothing left once prefix, suffix and spaces are stripped."""
    PATTERN = "pattern"
    """The code does not match the configured ``pattern``."""


class IdCodeError(Exception):
    """A line that is not a usable code. ``position`` is the 1-based byte offset in the line."""

    def __init__(self, reason: Reason, position: int, detail: str) -> None:
        super().__init__(f"{reason} at byte {position}: {detail}")
        self.reason = reason
        self.position = position
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ScannedCode:
    value: str = field(repr=False)
    """The code as read, stripped; a resident identifier, to be pseudonymised and forgotten."""


def parse_line(line: bytes, code_format: IdCodeFormat) -> ScannedCode:
    """The code on one line (without its line end); raises ``IdCodeError``."""
    if len(line) > MAX_LINE_BYTES:
        raise IdCodeError(Reason.TOO_LONG, MAX_LINE_BYTES + 1, f"a line of at most {MAX_LINE_BYTES} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IdCodeError(Reason.ENCODING, exc.start + 1, "UTF-8 text") from None
    for index, character in enumerate(text):
        if ord(character) < 0x20 or ord(character) == 0x7F:
            position = len(text[:index].encode()) + 1
            raise IdCodeError(
                Reason.CONTROL_CHARACTER, position, f"printable text, found 0x{ord(character):02X}"
            )
    prefix, suffix = code_format.prefix, code_format.suffix
    if prefix and not text.startswith(prefix):
        raise IdCodeError(Reason.MISSING_PREFIX, 1, f"the configured prefix ({len(prefix)} characters)")
    if suffix and (len(text) < len(prefix) + len(suffix) or not text.endswith(suffix)):
        position = max(1, len(line) - len(suffix.encode()) + 1)
        raise IdCodeError(
            Reason.MISSING_SUFFIX, position, f"the configured suffix ({len(suffix)} characters)"
        )
    core = text[len(prefix) : len(text) - len(suffix)]
    code = core.strip(CODE_SPACES)
    start = len(prefix.encode()) + len(core) - len(core.lstrip(CODE_SPACES)) + 1
    if not code:
        raise IdCodeError(Reason.EMPTY, start, "a code between prefix and suffix")
    if code_format.pattern is not None and re.fullmatch(code_format.pattern, code) is None:
        raise IdCodeError(Reason.PATTERN, start, "a code matching the configured pattern")
    return ScannedCode(code)


class LineDecoder:
    """Splits a reader's byte stream into lines and parses each; keeps an unfinished line between feeds."""

    def __init__(self, code_format: IdCodeFormat) -> None:
        self._format = code_format
        self._line = bytearray()
        self._overlong = False

    def feed(self, data: bytes) -> list[ScannedCode | IdCodeError]:
        """Codes and errors for every line that ``data`` completes, in order."""
        results: list[ScannedCode | IdCodeError] = []
        for byte in data:
            if byte in LINE_ENDS:
                results.extend(self._end_line())
                continue
            if self._overlong:
                continue
            self._line.append(byte)
            if len(self._line) > MAX_LINE_BYTES:
                self._overlong = True
                self._line.clear()
                results.append(
                    IdCodeError(
                        Reason.TOO_LONG, MAX_LINE_BYTES + 1, f"a line end within {MAX_LINE_BYTES} bytes"
                    )
                )
        return results

    def reset(self) -> int:
        """Forget an unfinished line (the port went away); returns how many bytes were dropped."""
        dropped = len(self._line)
        self._line.clear()
        self._overlong = False
        return dropped

    def _end_line(self) -> list[ScannedCode | IdCodeError]:
        line, overlong = bytes(self._line), self._overlong
        self._line.clear()
        self._overlong = False
        if overlong or not line:
            return []
        try:
            return [parse_line(line, self._format)]
        except IdCodeError as exc:
            return [exc]
