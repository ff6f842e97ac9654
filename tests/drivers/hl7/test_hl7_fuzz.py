"""Whatever a kiosk or the line sends, the HL7 path answers with a documented error or a message:
the MLLP decoder yields frames and ``MllpFramingError`` only, and ``parse_oru`` returns an
``OruMessage`` or raises ``Hl7Error`` with one of the documented reasons, never anything else."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from careedge_common.pseudonym import Pseudonymiser
from drivers.hl7.errors import Hl7Error, Reason
from drivers.hl7.mllp import MllpDecoder, MllpFrame, MllpFramingError, frame
from drivers.hl7.oru import parse_oru

ZONE = ZoneInfo("Asia/Shanghai")
PSEUDONYMISER = Pseudonymiser(b"site-secret-for-hl7-fuzzing")
CASES = Path(__file__).parent / "testcases"
REAL_MESSAGES = sorted(path.read_bytes() for path in CASES.glob("*/message.hl7"))
SEGMENT_ALPHABET = "MSHPIDOBRXNM|^~\\&0123456789.-+ /mgdLlbkPaCelF\r\n\u738b\xe9"


def _parses_or_documented_error(data: bytes) -> None:
    error: Hl7Error | None = None
    try:
        message = parse_oru(data, timezone=ZONE, pseudonymiser=PSEUDONYMISER)
    except Hl7Error as exc:
        error = exc
    if error is not None:
        assert isinstance(error.reason, Reason)
        assert str(error).startswith(f"{error.reason}: ")
    else:
        assert message.control_id


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_any_bytes_parse_or_raise_hl7_error(data: bytes) -> None:
    _parses_or_documented_error(data)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(REAL_MESSAGES),
    cut=st.integers(min_value=0, max_value=400),
    insert=st.text(alphabet=SEGMENT_ALPHABET, max_size=30),
)
def test_real_messages_with_text_spliced_in_parse_or_raise_hl7_error(
    base: bytes, cut: int, insert: str
) -> None:
    position = min(cut, len(base))
    _parses_or_documented_error(base[:position] + insert.encode() + base[position:])


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=48), max_size=30))
def test_mllp_decoder_yields_frames_or_framing_errors_only(chunks: list[bytes]) -> None:
    decoder = MllpDecoder(max_frame=256)
    for chunk in chunks:
        for event in decoder.feed(chunk):
            assert isinstance(event, MllpFrame | MllpFramingError)


@settings(max_examples=100, deadline=None)
@given(
    noise=st.binary(max_size=40).filter(lambda data: b"\x0b" not in data), base=st.sampled_from(REAL_MESSAGES)
)
def test_a_frame_after_line_noise_still_arrives_whole(noise: bytes, base: bytes) -> None:
    decoder = MllpDecoder()
    events = decoder.feed(noise + frame(base))
    assert [event.payload for event in events if isinstance(event, MllpFrame)] == [base]
