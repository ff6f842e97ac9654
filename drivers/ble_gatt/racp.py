"""Record Access Control Point (0x2A52): how a client asks a glucose meter for its stored records.

Glucose Service (GLS) v1.0 §3.3.2 and the GATT Specification Supplement, Record Access Control
Point. A request is written (with response) to the RACP; the meter then notifies the selected
records on Glucose Measurement (0x2A18) and ends the procedure with one indication on the RACP.

Layout, little-endian: op code (1), operator (1), operand (variable).

- Report Stored Records (1) and Report Number of Stored Records (4) take an operator: all records
  (1, no operand), greater than or equal to (3, operand: filter type 1 "sequence number" and a
  uint16), first record (5), last record (6). The product uses no other filters.
- Abort Operation (3) takes the null operator (0) and no operand.
- The meter answers with Number of Stored Records Response (5: null operator, uint16 count) or
  Response Code (6: null operator, operand: the request's op code and a response code value).

A request the product does not send and a response it cannot read raise ``BleDecodeError`` (the
codecs' one error type, with the byte offset), so the simulator and the driver share this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from drivers.ble.errors import BleDecodeError, Reason
from drivers.ble.wire import Reader, Writer

RACP_UUID16 = 0x2A52
MAX_SEQUENCE_NUMBER = 0xFFFF
"""Sequence numbers are uint16."""
FILTER_SEQUENCE_NUMBER = 0x01
"""Filter type of an operand that compares sequence numbers (2 is user facing time, not used)."""


class OpCode(IntEnum):
    REPORT_STORED_RECORDS = 0x01
    DELETE_STORED_RECORDS = 0x02
    ABORT_OPERATION = 0x03
    REPORT_NUMBER_OF_STORED_RECORDS = 0x04
    NUMBER_OF_STORED_RECORDS_RESPONSE = 0x05
    RESPONSE_CODE = 0x06


class Operator(IntEnum):
    NULL = 0x00
    ALL_RECORDS = 0x01
    LESS_THAN_OR_EQUAL = 0x02
    GREATER_THAN_OR_EQUAL = 0x03
    WITHIN_RANGE = 0x04
    FIRST_RECORD = 0x05
    LAST_RECORD = 0x06


class ResponseCode(IntEnum):
    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_OPERATOR = 0x03
    OPERATOR_NOT_SUPPORTED = 0x04
    INVALID_OPERAND = 0x05
    NO_RECORDS_FOUND = 0x06
    ABORT_UNSUCCESSFUL = 0x07
    PROCEDURE_NOT_COMPLETED = 0x08
    OPERAND_NOT_SUPPORTED = 0x09


_REQUEST_OP_CODES = {
    int(code): code
    for code in (OpCode.REPORT_STORED_RECORDS, OpCode.ABORT_OPERATION, OpCode.REPORT_NUMBER_OF_STORED_RECORDS)
}
_SELECTING_OPERATORS = {
    int(operator): operator
    for operator in (
        Operator.ALL_RECORDS,
        Operator.GREATER_THAN_OR_EQUAL,
        Operator.FIRST_RECORD,
        Operator.LAST_RECORD,
    )
}
_RESPONSE_CODES = {int(code): code for code in ResponseCode}


@dataclass(frozen=True, slots=True)
class RacpRequest:
    op_code: OpCode
    operator: Operator
    from_sequence: int | None = None
    """The operand of ``GREATER_THAN_OR_EQUAL``: the lowest sequence number wanted."""


@dataclass(frozen=True, slots=True)
class RacpResponse:
    """The Response Code indication that ends a procedure."""

    request_op_code: int
    """As the meter echoes it (an op code it did not understand is echoed too)."""
    code: ResponseCode


@dataclass(frozen=True, slots=True)
class RecordCount:
    """The Number of Stored Records Response."""

    count: int


def report_all() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.ALL_RECORDS)


def report_from(sequence_number: int) -> RacpRequest:
    """Records whose sequence number is ``sequence_number`` or greater."""
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.GREATER_THAN_OR_EQUAL, sequence_number)


def report_first() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.FIRST_RECORD)


def report_last() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.LAST_RECORD)


def abort() -> RacpRequest:
    return RacpRequest(OpCode.ABORT_OPERATION, Operator.NULL)


def count_all() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_NUMBER_OF_STORED_RECORDS, Operator.ALL_RECORDS)


def encode_request(request: RacpRequest) -> bytes:
    """Raises ``ValueError`` for a sequence number outside uint16."""
    writer = Writer()
    writer.uint8(request.op_code, "op_code")
    writer.uint8(request.operator, "operator")
    if request.operator is Operator.GREATER_THAN_OR_EQUAL:
        if request.from_sequence is None:
            raise ValueError("from_sequence: needed with the greater-than-or-equal operator")
        writer.uint8(FILTER_SEQUENCE_NUMBER, "filter_type")
        writer.uint16(request.from_sequence, "from_sequence")
    return bytes(writer)


def decode_request(data: bytes) -> RacpRequest:
    """What a meter reads from a write; ``invalid`` names an op code, operator or filter it does not
    support (the meter answers those with a response code; the offset tells which)."""
    reader = Reader(data)
    op_code = reader.enum(_REQUEST_OP_CODES, reader.uint8("op_code"), 0, "op_code", "1, 3 or 4")
    raw_operator = reader.uint8("operator")
    if op_code is OpCode.ABORT_OPERATION:
        if raw_operator != Operator.NULL:
            raise BleDecodeError(Reason.INVALID, 1, "operator", f"0 (null) with abort, found {raw_operator}")
        reader.end()
        return abort()
    operator = reader.enum(_SELECTING_OPERATORS, raw_operator, 1, "operator", "1, 3, 5 or 6")
    from_sequence = None
    if operator is Operator.GREATER_THAN_OR_EQUAL:
        filter_type = reader.uint8("filter_type")
        if filter_type != FILTER_SEQUENCE_NUMBER:
            raise BleDecodeError(
                Reason.INVALID, 2, "filter_type", f"1 (sequence number), found {filter_type}"
            )
        from_sequence = reader.uint16("from_sequence")
    reader.end()
    return RacpRequest(op_code, operator, from_sequence)


def encode_response(response: RacpResponse | RecordCount) -> bytes:
    writer = Writer()
    if isinstance(response, RecordCount):
        writer.uint8(OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE, "op_code")
        writer.uint8(Operator.NULL, "operator")
        writer.uint16(response.count, "count")
    else:
        writer.uint8(OpCode.RESPONSE_CODE, "op_code")
        writer.uint8(Operator.NULL, "operator")
        writer.uint8(response.request_op_code, "request_op_code")
        writer.uint8(response.code, "code")
    return bytes(writer)


def decode_response(data: bytes) -> RacpResponse | RecordCount:
    """An RACP indication; ``invalid`` for an op code that is not a response or a reserved code."""
    reader = Reader(data)
    op_code = reader.uint8("op_code")
    reader.uint8("operator")
    if op_code == OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE:
        count = reader.uint16("count")
        reader.end()
        return RecordCount(count)
    if op_code != OpCode.RESPONSE_CODE:
        raise BleDecodeError(Reason.INVALID, 0, "op_code", f"5 or 6 (a response), found {op_code}")
    request_op_code = reader.uint8("request_op_code")
    code = reader.enum(_RESPONSE_CODES, reader.uint8("code"), 3, "code", "1..9")
    reader.end()
    return RacpResponse(request_op_code, code)
