"""Named errors of the Modbus driver, so the cabinet workflow can tell a busy controller from a
wrong register map from a lock that did not move.

Exception responses (the device answered, with function code | 0x80 and an exception code) map
to one class per code; a missing answer after the configured retries is ``DeviceTimeout``; a lost
link is the contract's ``DeviceDisconnected``.
"""

from __future__ import annotations

from drivers.contract import DeviceError


class ModbusError(DeviceError):
    """Base of every error this driver raises."""


class ModbusExceptionResponse(ModbusError):
    """The device refused a request; ``code`` is the Modbus exception code it sent."""

    code = 0

    def __init__(self, function_code: int, detail: str = "") -> None:
        self.function_code = function_code
        super().__init__(
            f"{type(self).__name__} (exception code {self.code:#04x}) to function {function_code}"
            + (f": {detail}" if detail else "")
        )


class IllegalFunction(ModbusExceptionResponse):
    code = 0x01


class IllegalAddress(ModbusExceptionResponse):
    """The address range is not on this device: the profile does not fit the firmware."""

    code = 0x02


class IllegalValue(ModbusExceptionResponse):
    code = 0x03


class DeviceFailure(ModbusExceptionResponse):
    code = 0x04


class Acknowledge(ModbusExceptionResponse):
    """Accepted, still working: ask again later."""

    code = 0x05


class DeviceBusy(ModbusExceptionResponse):
    """Busy with a long command: retry later."""

    code = 0x06


class NegativeAcknowledge(ModbusExceptionResponse):
    code = 0x07


class MemoryParityError(ModbusExceptionResponse):
    code = 0x08


class GatewayPathUnavailable(ModbusExceptionResponse):
    code = 0x0A


class GatewayNoResponse(ModbusExceptionResponse):
    """A Modbus TCP gateway's serial device behind it did not answer."""

    code = 0x0B


class UnknownExceptionCode(ModbusExceptionResponse):
    """An exception code outside the standard's list; ``code`` holds what was sent."""

    def __init__(self, function_code: int, code: int) -> None:
        self.code = code
        super().__init__(function_code)


EXCEPTIONS_BY_CODE: dict[int, type[ModbusExceptionResponse]] = {
    error.code: error
    for error in (
        IllegalFunction,
        IllegalAddress,
        IllegalValue,
        DeviceFailure,
        Acknowledge,
        DeviceBusy,
        NegativeAcknowledge,
        MemoryParityError,
        GatewayPathUnavailable,
        GatewayNoResponse,
    )
}
RETRYABLE_EXCEPTIONS: tuple[type[ModbusExceptionResponse], ...] = (
    Acknowledge,
    DeviceBusy,
    GatewayNoResponse,
)
"""Answers that say "later", retried like a missing answer; every other exception is final."""


def exception_for(function_code: int, code: int) -> ModbusExceptionResponse:
    """The named error for an exception response (``function_code`` without the 0x80 bit)."""
    error = EXCEPTIONS_BY_CODE.get(code)
    return error(function_code) if error is not None else UnknownExceptionCode(function_code, code)


class DeviceTimeout(ModbusError):
    """No valid answer within the timeout, after every configured retry."""


class WriteNotVerified(ModbusError):
    """A write was acknowledged but reading back gave another value (stuck lock, a value the
    firmware clamped): the device is not in the state the workflow asked for."""

    def __init__(self, what: str, wrote: object, read_back: object) -> None:
        self.what = what
        self.wrote = wrote
        self.read_back = read_back
        super().__init__(f"{what}: wrote {wrote!r}, read back {read_back!r}")


class CommandRejected(ModbusError):
    """The cabinet's command mailbox reported ``rejected`` (or did not finish in time)."""
