from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7
import pytest

from drivers.hl7.ack import accept_ack, error_ack
from drivers.hl7.errors import Hl7Error, MessageHeader
from drivers.hl7.oru import parse_oru

CASES = Path(__file__).parent / "testcases"
NOW = datetime(2024, 3, 15, 1, 30, 5, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def _header(case: str) -> MessageHeader:
    data = (CASES / case / "message.hl7").read_bytes()
    try:
        return parse_oru(data, timezone=ZoneInfo("Asia/Shanghai"), pseudonymiser=None).header
    except Hl7Error as exc:
        header = exc.header
    assert header is not None
    return header


def _refusal(message: str) -> Hl7Error:
    with pytest.raises(Hl7Error) as caught:
        parse_oru(message.encode(), timezone=UTC_ZONE, pseudonymiser=None)
    return caught.value


def test_accept_answers_the_sender_with_its_control_id() -> None:
    ack = accept_ack(_header("kiosk_loinc"), now=NOW, ack_id="ACK0001")

    parsed = hl7.parse(ack.decode())
    assert len(parsed) == 2
    assert [str(parsed["MSH.F3"]), str(parsed["MSH.F4"])] == ["CAREEDGE", "GW01"]
    assert str(parsed.segment("MSH")(5)) == "HS-KIOSK-200"
    assert str(parsed.segment("MSH")(6)) == "SUNSHINE_NH^3F"
    assert str(parsed["MSH.F7"]) == "20240315013005+0000"
    assert str(parsed.segment("MSH")(9)) == "ACK^R01^ACK"
    assert str(parsed["MSH.F10"]) == "ACK0001"
    assert [str(parsed["MSH.F11"]), str(parsed["MSH.F12"]), str(parsed["MSH.F18"])] == [
        "P",
        "2.5.1",
        "UNICODE UTF-8",
    ]
    assert str(parsed["MSA.F1"]) == "AA"
    assert str(parsed["MSA.F2"]) == "HS20240315093012001"
    assert b"H00123" not in ack
    assert b"WANG" not in ack


def test_error_answer_says_why_and_where() -> None:
    error = _refusal(
        "MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315100000||ORU^R01|BADVAL-1|P|2.5\r"
        "PID|1||H00123^^^SUNSHINE_NH^MR||WANG^FANG\r"
        "OBX|1|NM|8867-4^Heart rate^LN||70|/min|||||F\r"
        "OBX|2|NM|8480-6^Systolic^LN||12O|mm[Hg]|||||F\r"
    )
    assert error.header is not None

    ack = error_ack(error.header, error.reason, error.text, position=error.position, now=NOW, ack_id="A2")

    parsed = hl7.parse(ack.decode())
    assert [str(segment[0]) for segment in parsed] == ["MSH", "MSA", "ERR"]
    assert str(parsed["MSA.F1"]) == "AE"
    assert str(parsed["MSA.F2"]) == "BADVAL-1"
    assert str(parsed["MSA.F3"]) == "bad_value: OBX[2]-5: a decimal number for 8480-6, found '12O'"
    err = parsed.segment("ERR")
    assert str(err(2)) == "OBX^2^5"
    assert str(err(3)) == "102^Data type error^HL70357"
    assert str(err(4)) == "E"
    assert str(parsed["ERR.F8"]) == "bad_value: OBX[2]-5: a decimal number for 8480-6, found '12O'"
    assert b"H00123" not in ack
    assert b"WANG" not in ack


def test_error_text_with_separators_is_escaped() -> None:
    text = "found 'A|B^C~D&E\\F'"

    ack = error_ack(_header("kiosk_loinc"), "edge_full", text, now=NOW)

    parsed = hl7.parse(ack.decode())
    assert len(parsed) == 3
    assert parsed["MSA.F3"] == f"edge_full: {text}"
    assert parsed["ERR.F8"] == f"edge_full: {text}"
    # A reason the codec does not know (one from the edge) is an application error.
    assert str(parsed.segment("ERR")(3)) == "207^Application internal error^HL70357"


def test_msa_text_is_cut_to_its_80_characters_but_err_keeps_it_whole() -> None:
    text = "x" * 200

    parsed = hl7.parse(error_ack(_header("kiosk_loinc"), "bad_value", text).decode())

    assert len(str(parsed["MSA.F3"])) == 80
    assert str(parsed["ERR.F8"]) == f"bad_value: {text}"


def test_answer_uses_the_senders_separators() -> None:
    message = (
        "MSH#$%\\*#KIOSK#NH#CAREEDGE#GW#20240315100000##ORU$R01#SEP-1#P#2.5\r"
        "OBX#1#NM#8867-4$Heart rate$LN##70#/min#####F\r"
    )
    header = parse_oru(message.encode(), timezone=UTC_ZONE, pseudonymiser=None).header

    ack = accept_ack(header, now=NOW, ack_id="A3")

    assert ack.startswith(b"MSH#$%\\*#CAREEDGE#GW#KIOSK#NH#20240315013005+0000##ACK$R01$ACK#A3#P#2.5\r")
    assert ack.endswith(b"\rMSA#AA#SEP-1\r")


def test_answer_is_encoded_in_the_senders_character_set() -> None:
    header = _header("charset_gb18030")

    ack = accept_ack(header, now=NOW)

    text = ack.decode("gb18030")
    assert "|养老院|" in text
    assert str(hl7.parse(text)["MSH.F18"]) == "GB 18030-2000"
    with pytest.raises(UnicodeDecodeError):
        ack.decode("utf-8")


def test_not_oru_is_answered_with_its_own_trigger_and_the_reason() -> None:
    header = _header("error_not_oru")

    parsed = hl7.parse(error_ack(header, "not_oru", "MSH-9: message type ORU^R01, found 'ADT^A01'").decode())

    assert str(parsed.segment("MSH")(9)) == "ACK^A01^ACK"
    assert str(parsed["MSA.F2"]) == "ADT-1"
    assert str(parsed.segment("ERR")(3)) == "200^Unsupported message type^HL70357"


def test_undecodable_message_is_answered_in_valid_text_of_its_character_set() -> None:
    data = (
        b"MSH|^~\\&|KIOSK|Caf\xe9|CAREEDGE|GW|20240315100000||ORU^R01|ENC-2|P|2.5\r"
        b"OBX|1|NM|8867-4^Heart rate^LN||70|/min|||||F\r"
    )
    with pytest.raises(Hl7Error) as caught:
        parse_oru(data, timezone=UTC_ZONE, pseudonymiser=None)
    error = caught.value
    assert error.reason == "encoding"
    assert error.header is not None

    ack = error_ack(error.header, error.reason, error.text, position=error.position, now=NOW)

    parsed = hl7.parse(ack.decode("utf-8"))
    assert str(parsed.segment("MSH")(6)) == "Caf\ufffd"
    assert (str(parsed["MSA.F1"]), str(parsed["MSA.F2"])) == ("AE", "ENC-2")
    assert str(parsed.segment("ERR")(2)) == "MSH^1^18"


def test_undecodable_message_in_an_unknown_character_set_is_answered_in_ascii() -> None:
    data = b"MSH|^~\\&|KIOSK|Caf\xe9|CAREEDGE|GW|20240315100000||ORU^R01|ENC-3|P|2.5|||||CHN|KLINGON\r"
    with pytest.raises(Hl7Error) as caught:
        parse_oru(data, timezone=UTC_ZONE, pseudonymiser=None)
    assert caught.value.header is not None

    ack = accept_ack(caught.value.header, now=NOW)

    assert b"|Caf?|" in ack
    assert ack.decode("ascii").endswith("\rMSA|AA|ENC-3\r")


def test_two_messages_in_one_frame_are_answered_for_the_first() -> None:
    error = _refusal(
        "MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315100000||ORU^R01|TWO-1|P|2.5\r"
        "OBX|1|NM|8867-4^Heart rate^LN||70|/min|||||F\r"
        "MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315100100||ORU^R01|TWO-2|P|2.5\r"
    )

    assert error.reason == "parse"
    assert error.control_id == "TWO-1"


def test_minimal_msh_is_still_answered() -> None:
    header = parse_oru(
        b"MSH|^~\\&|KIOSK|NH|||20240315100000||ORU^R01|MIN-1\rOBX|1|NM|8867-4^HR^LN||70|/min\r",
        timezone=UTC_ZONE,
        pseudonymiser=None,
    ).header

    assert accept_ack(header, now=NOW, ack_id="A4") == (
        b"MSH|^~\\&|||KIOSK|NH|20240315013005+0000||ACK^R01^ACK|A4\rMSA|AA|MIN-1\r"
    )


def test_message_type_without_trigger_is_still_answered() -> None:
    error = _refusal("MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315100000||QRY|Q-1|P|2.5\r")
    assert error.header is not None

    parsed = hl7.parse(error_ack(error.header, error.reason, error.text, position=error.position).decode())

    assert str(parsed.segment("MSH")(9)) == "ACK^^ACK"
    assert (str(parsed["MSA.F1"]), str(parsed["MSA.F2"])) == ("AE", "Q-1")


def _trigger(msh: hl7.Segment) -> str:
    try:
        return str(msh.extract_field(1, 9, 1, 2))
    except IndexError:
        return ""


@pytest.mark.parametrize(
    "msh",
    [
        "MSH|^~|KIOSK|NH^3F|CAREEDGE|GW|20240315100000||ORU^R01&X~ADT^A01|SHORT-1|P|2.5|||||CHN|ASCII",
        "MSH#$%!*#KIOSK#NH#CAREEDGE#GW#20240315100000##ORU$R01#SEP-2#P#2.5.1 ",
        "MSH|^~\\&|KIOSK||||20240315100000||ORU|NOTRIG-1",
    ],
)
def test_accept_copies_the_header_as_the_hl7_library_reads_it(msh: str) -> None:
    """The ACK is written from the MSH text directly; the hl7 library is the reference reader."""
    received = hl7.parse(msh).segment("MSH")
    header = MessageHeader(msh=msh, control_id=str(received(10)), charset="utf-8")

    ack = hl7.parse(accept_ack(header, now=NOW, ack_id="A5").decode()).segment("MSH")

    assert [str(ack(field)) for field in (1, 2, 3, 4, 5, 6)] == [
        str(received(field)) for field in (1, 2, 5, 6, 3, 4)
    ]
    assert _trigger(ack) == _trigger(received)
    assert [str(ack(field)) if field < len(ack) else "" for field in (11, 12, 18)] == [
        str(received(field)) if field < len(received) else "" for field in (11, 12, 18)
    ]
