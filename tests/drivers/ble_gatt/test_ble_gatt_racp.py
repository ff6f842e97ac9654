"""The Record Access Control Point codec, on bytes (GLS v1.0 §3.3.2)."""

from __future__ import annotations

import pytest

from drivers.ble.errors import BleDecodeError
from drivers.ble_gatt.racp import (
    OpCode,
    RacpRequest,
    RacpResponse,
    RecordCount,
    ResponseCode,
    abort,
    count_all,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    report_all,
    report_first,
    report_from,
    report_last,
)


@pytest.mark.parametrize(
    ("request_", "wire"),
    [
        (report_all(), "01 01"),
        (report_from(0x0105), "01 03 01 05 01"),
        (report_last(), "01 06"),
        (report_first(), "01 05"),
        (abort(), "03 00"),
        (count_all(), "04 01"),
    ],
)
def test_requests_on_the_wire(request_: RacpRequest, wire: str) -> None:
    assert encode_request(request_) == bytes.fromhex(wire)
    assert decode_request(bytes.fromhex(wire)) == request_


@pytest.mark.parametrize(
    ("response", "wire"),
    [
        (RacpResponse(OpCode.REPORT_STORED_RECORDS, ResponseCode.SUCCESS), "06 00 01 01"),
        (RacpResponse(OpCode.REPORT_STORED_RECORDS, ResponseCode.NO_RECORDS_FOUND), "06 00 01 06"),
        (RacpResponse(0x07, ResponseCode.OP_CODE_NOT_SUPPORTED), "06 00 07 02"),
        (RecordCount(258), "05 00 02 01"),
    ],
)
def test_responses_on_the_wire(response: RacpResponse | RecordCount, wire: str) -> None:
    assert encode_response(response) == bytes.fromhex(wire)
    assert decode_response(bytes.fromhex(wire)) == response


@pytest.mark.parametrize(
    ("wire", "reason", "offset", "field"),
    [
        ("", "short", 0, "op_code"),
        ("02 01", "invalid", 0, "op_code"),
        ("01", "short", 1, "operator"),
        ("01 04 01 01 00 05 00", "invalid", 1, "operator"),
        ("01 03 02 05 00", "invalid", 2, "filter_type"),
        ("01 03 01 05", "short", 3, "from_sequence"),
        ("01 01 00", "long", 2, "trailing bytes"),
        ("03 01", "invalid", 1, "operator"),
    ],
)
def test_requests_a_meter_refuses_name_the_byte(wire: str, reason: str, offset: int, field: str) -> None:
    with pytest.raises(BleDecodeError) as caught:
        decode_request(bytes.fromhex(wire))
    assert (caught.value.reason, caught.value.offset, caught.value.field) == (reason, offset, field)


@pytest.mark.parametrize(
    ("wire", "reason", "offset", "field"),
    [
        ("01 01", "invalid", 0, "op_code"),
        ("06 00 01", "short", 3, "code"),
        ("06 00 01 0A", "invalid", 3, "code"),
        ("06 00 01 01 00", "long", 4, "trailing bytes"),
        ("05 00 01", "short", 2, "count"),
    ],
)
def test_responses_the_driver_cannot_read_name_the_byte(
    wire: str, reason: str, offset: int, field: str
) -> None:
    with pytest.raises(BleDecodeError) as caught:
        decode_response(bytes.fromhex(wire))
    assert (caught.value.reason, caught.value.offset, caught.value.field) == (reason, offset, field)


def test_sequence_number_beyond_uint16_is_refused() -> None:
    with pytest.raises(ValueError, match="from_sequence"):
        encode_request(report_from(0x10000))
