"""ASTM E1394 (CLSI LIS2-A2) records: fields, repeats, components and escapes.

The H record defines the delimiters in its first characters (E1394, header record): ``H|\\^&`` names the
field (``|``), repeat (``\\``), component (``^``) and escape (``&``) delimiters. Field 1 is the
record type; H-2 is the delimiter definition itself. Text fields may hold the escape sequences
``&F&`` ``&S&`` ``&R&`` ``&E&`` (a delimiter as data); other sequences are kept as
sent. Pure: text in, strings out.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.astm.errors import AstmError, Position, Reason

HEADER_RECORD = "H"
DELIMITER_DEFINITION_LENGTH = 5
"""``H`` and the four delimiters."""
_ESCAPES = {"F": 0, "S": 2, "R": 1, "E": 3}
"""Escape letter -> index into (field, repeat, component, escape)."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str
    repeat: str
    component: str
    escape: str

    @classmethod
    def from_header(cls, header: str) -> Delimiters:
        """The delimiters an H record defines; raises ``AstmError`` (``no_header``, ``bad_delimiters``)."""
        if not header.startswith(HEADER_RECORD):
            raise AstmError(
                Reason.NO_HEADER,
                f"a message beginning with an H record, found record type {header[:1]!r}",
                Position(header[:1] or "?", 1, 1, 1),
            )
        position = Position(HEADER_RECORD, 1, 1, 2)
        chosen = header[1:DELIMITER_DEFINITION_LENGTH]
        if (
            len(chosen) < len(_ESCAPES)
            or len(set(chosen)) != len(chosen)
            or any(character.isalnum() or character.isspace() for character in chosen)
        ):
            raise AstmError(
                Reason.BAD_DELIMITERS,
                f"four distinct delimiters that are neither letters, digits nor spaces, found {chosen!r}",
                position,
            )
        if len(header) > DELIMITER_DEFINITION_LENGTH and header[DELIMITER_DEFINITION_LENGTH] != chosen[0]:
            raise AstmError(
                Reason.BAD_DELIMITERS, f"the field delimiter {chosen[0]!r} after the definition", position
            )
        return cls(field=chosen[0], repeat=chosen[1], component=chosen[2], escape=chosen[3])

    def unescape(self, text: str) -> str:
        """``text`` with ``&F&``, ``&S&``, ``&R&`` and ``&E&`` replaced by the delimiters they stand for."""
        if self.escape not in text:
            return text
        delimiters = (self.field, self.repeat, self.component, self.escape)
        pieces = text.split(self.escape)
        result = [pieces[0]]
        index = 1
        while index < len(pieces):
            letter = pieces[index]
            if letter in _ESCAPES and index + 1 < len(pieces):
                result.append(delimiters[_ESCAPES[letter]] + pieces[index + 1])
                index += 2
            else:
                result.append(self.escape + letter)
                index += 1
        return "".join(result)


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a message; ``fields[0]`` is field 1, the record type."""

    fields: tuple[str, ...]
    delimiters: Delimiters
    position: Position

    @classmethod
    def parse(cls, text: str, delimiters: Delimiters, index: int, occurrences: dict[str, int]) -> Record:
        """Split one record; ``occurrences`` counts record types seen so far and is updated."""
        fields = tuple(text.split(delimiters.field))
        kind = fields[0].strip().upper()
        occurrences[kind] = occurrences.get(kind, 0) + 1
        return cls(fields, delimiters, Position(kind, occurrences[kind], index))

    @property
    def type(self) -> str:
        return self.position.record

    def text(self, field: int, component: int = 1) -> str:
        """First repeat of field ``field``, component ``component``, unescaped and stripped; "" when
        the record stops before it."""
        if field > len(self.fields):
            return ""
        repeat = self.fields[field - 1].split(self.delimiters.repeat, 1)[0]
        components = repeat.split(self.delimiters.component)
        if component > len(components):
            return ""
        return self.delimiters.unescape(components[component - 1]).strip()
