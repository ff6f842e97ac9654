"""PID-3 becomes a keyed pseudonym; the identifier and the name never leave the codec."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from careedge_common.pseudonym import Pseudonymiser
from drivers.hl7.errors import Hl7Error
from drivers.hl7.oru import describe, parse_oru

SECRET = b"site-secret-for-tests-0001"
OTHER_SECRET = b"site-secret-for-tests-0002"
ZONE = ZoneInfo("Asia/Shanghai")
KIOSK = (Path(__file__).parent / "testcases" / "kiosk_loinc" / "message.hl7").read_bytes()
PCD = (Path(__file__).parent / "testcases" / "pcd01_blood_pressure_mdc" / "message.hl7").read_bytes()
HEADER = b"MSH|^~\\&|KIOSK|NH|CAREEDGE|GW|20240315100000||ORU^R01|P-1|P|2.5\r"
OBX = b"OBX|1|NM|8867-4^Heart rate^LN||70|/min|||||F\r"


def _subject(data: bytes, secret: bytes = SECRET) -> str | None:
    return parse_oru(data, timezone=ZONE, pseudonymiser=Pseudonymiser(secret)).subject


def test_same_resident_gets_the_same_subject() -> None:
    subject = _subject(KIOSK)

    assert subject is not None
    assert subject.startswith("s-")
    assert subject == _subject(KIOSK)
    assert subject == Pseudonymiser(SECRET).subject("H00123", "SUNSHINE_NH")


def test_another_site_secret_gives_another_subject() -> None:
    assert _subject(KIOSK) != _subject(KIOSK, OTHER_SECRET)


def test_assigning_authority_is_part_of_the_identity() -> None:
    same_number_other_issuer = KIOSK.replace(b"H00123^^^SUNSHINE_NH^MR", b"H00123^^^OTHER_NH^MR")

    assert _subject(same_number_other_issuer) != _subject(KIOSK)


def test_authority_given_as_universal_id_is_used_whole() -> None:
    assert _subject(PCD) == Pseudonymiser(SECRET).subject("R0042", "1.2.276.0.76.3.1.123&ISO")


def test_first_repetition_of_pid3_is_the_identifier() -> None:
    repeated = HEADER + b"PID|1||H00123^^^SUNSHINE_NH^MR~330106194203150021^^^CN-MOH^NI\r" + OBX

    assert _subject(repeated) == Pseudonymiser(SECRET).subject("H00123", "SUNSHINE_NH")


@pytest.mark.parametrize(
    "pid",
    [b"", b"PID|1\r", b"PID|1||\r", b"PID|1||^^^SUNSHINE_NH^MR\r"],
    ids=["no PID", "no PID-3", "empty PID-3", "authority only"],
)
def test_no_identifier_means_no_subject(pid: bytes) -> None:
    message = parse_oru(HEADER + pid + OBX, timezone=ZONE, pseudonymiser=Pseudonymiser(SECRET))

    assert message.subject is None
    assert not message.identified


def test_identifier_and_name_appear_nowhere_in_the_result() -> None:
    message = parse_oru(KIOSK, timezone=ZONE, pseudonymiser=Pseudonymiser(SECRET))

    for text in (repr(message), str(message), json.dumps(describe(message))):
        for secret in ("H00123", "WANG", "FANG", "19420611"):
            assert secret not in text


def test_identifier_appears_nowhere_in_an_error() -> None:
    broken = KIOSK.replace(b"||132|", b"||1x2|")

    with pytest.raises(Hl7Error) as caught:
        parse_oru(broken, timezone=ZONE, pseudonymiser=Pseudonymiser(SECRET))

    for text in (str(caught.value), repr(caught.value), repr(caught.value.header)):
        for secret in ("H00123", "WANG", "FANG"):
            assert secret not in text


def test_malformed_escape_in_pid3_never_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    message = HEADER + b"PID|1||H00\\Q123\\^^^SUNSHINE_NH^MR\r" + OBX

    subject = _subject(message)

    assert subject == Pseudonymiser(SECRET).subject("H00\\Q123\\", "SUNSHINE_NH")
    assert "H00" not in caplog.text
