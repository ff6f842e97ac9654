"""The reader line protocol on bytes: framing, prefix/suffix, validation, positions, no code in errors."""

from __future__ import annotations

import pytest

from careedge_common.config import IdCodeFormat
from drivers.id_reader.codec import MAX_LINE_BYTES, IdCodeError, LineDecoder, Reason, ScannedCode, parse_line

ID_CARD = "11010519450101234X"
BARE = IdCodeFormat()
FRAMED = IdCodeFormat(prefix="]Q", suffix="#")
ID_CARDS = IdCodeFormat(pattern=r"[0-9]{17}[0-9Xx]")


def test_bare_code_and_spaces_around_it() -> None:
    assert parse_line(ID_CARD.encode(), BARE) == ScannedCode(ID_CARD)
    assert parse_line(f"  {ID_CARD} ".encode(), BARE).value == ID_CARD
    assert parse_line("CH-护理-001".encode(), BARE).value == "CH-护理-001"


def test_prefix_and_suffix_are_stripped() -> None:
    assert parse_line(f"]Q{ID_CARD}#".encode(), FRAMED).value == ID_CARD
    assert parse_line(f"]Q {ID_CARD} #".encode(), FRAMED).value == ID_CARD


@pytest.mark.parametrize(
    ("line", "code_format", "reason", "position"),
    [
        (f"{ID_CARD}#".encode(), FRAMED, Reason.MISSING_PREFIX, 1),
        (f"]Q{ID_CARD}".encode(), FRAMED, Reason.MISSING_SUFFIX, len(ID_CARD) + 2),
        (b"]Q#", FRAMED, Reason.EMPTY, 3),
        (b"]Q   #", FRAMED, Reason.EMPTY, 6),
        (b"   ", BARE, Reason.EMPTY, 4),
        (f"{ID_CARD[:5]}\t{ID_CARD[5:]}".encode(), BARE, Reason.CONTROL_CHARACTER, 6),
        (f"护{ID_CARD}\x1b".encode(), BARE, Reason.CONTROL_CHARACTER, 4 + len(ID_CARD)),
        (ID_CARD[:6].encode() + b"\xff" + ID_CARD[6:].encode(), BARE, Reason.ENCODING, 7),
        (b"1" * (MAX_LINE_BYTES + 1), BARE, Reason.TOO_LONG, MAX_LINE_BYTES + 1),
        (b"1101051945", ID_CARDS, Reason.PATTERN, 1),
        (f"{ID_CARD}0".encode(), ID_CARDS, Reason.PATTERN, 1),
    ],
)
def test_refused_lines_name_reason_and_byte_position_but_never_the_code(
    line: bytes, code_format: IdCodeFormat, reason: Reason, position: int
) -> None:
    with pytest.raises(IdCodeError) as info:
        parse_line(line, code_format)
    assert (info.value.reason, info.value.position) == (reason, position)
    assert ID_CARD[:6] not in str(info.value)


def test_pattern_accepts_a_matching_code() -> None:
    assert parse_line(ID_CARD.lower().encode(), ID_CARDS).value == ID_CARD.lower()


def test_scanned_code_repr_hides_the_value() -> None:
    assert ID_CARD not in repr(ScannedCode(ID_CARD))


def test_decoder_splits_on_cr_lf_and_crlf_across_feeds() -> None:
    decoder = LineDecoder(BARE)
    assert decoder.feed(b"CH000001\r") == [ScannedCode("CH000001")]
    assert decoder.feed(b"\nCH0000") == []
    assert decoder.feed(b"02\nCH000003\r\n\r\n") == [ScannedCode("CH000002"), ScannedCode("CH000003")]


def test_decoder_reports_a_bad_line_and_carries_on() -> None:
    decoder = LineDecoder(FRAMED)
    results = decoder.feed(b"]QCH000001#\r\nnoise\r\n]QCH000002#\r\n")
    assert results[0] == ScannedCode("CH000001")
    assert isinstance(results[1], IdCodeError)
    assert results[1].reason is Reason.MISSING_PREFIX
    assert results[2] == ScannedCode("CH000002")


def test_overlong_run_is_reported_once_and_dropped_to_the_next_line_end() -> None:
    decoder = LineDecoder(BARE)
    first = decoder.feed(b"7" * (MAX_LINE_BYTES + 1))
    assert [r.reason for r in first if isinstance(r, IdCodeError)] == [Reason.TOO_LONG]
    assert decoder.feed(b"7" * 1000) == []
    assert decoder.feed(b"777\r\nCH000001\n") == [ScannedCode("CH000001")]


def test_reset_drops_an_unfinished_line() -> None:
    decoder = LineDecoder(BARE)
    decoder.feed(b"CH00")
    assert decoder.reset() == 4
    assert decoder.feed(b"0001\n") == [ScannedCode("0001")]
