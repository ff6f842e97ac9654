"""One Modbus connection (a TCP socket or an RS-485 port) with the retry and reconnect policy.

pymodbus's own retries and automatic reconnects are switched off: the policy lives here, named
and bounded, so a "busy" answer is retried like a missing one, an illegal-address answer is not
retried at all, and a lost link is reopened with exponential backoff without ever blocking a
request behind a sleeping reconnect (a request made while backing off fails at once with
``DeviceUnavailable``; the poller tries again at its next interval).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from careedge_common.config import SerialSettings
from careedge_common.config_modbus import ModbusSettings
from drivers.contract import DeviceUnavailable
from drivers.modbus.errors import RETRYABLE_EXCEPTIONS, DeviceTimeout, ModbusError, exception_for
from drivers.modbus.planner import ReadBlock
from drivers.modbus.profile import Table

log = logging.getLogger(__name__)

WRITE_COILS = 15
WRITE_REGISTERS = 16


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    timeout_s: float = 1.0
    """Wait for one answer."""
    retries: int = 2
    """Sends after the first, on a timeout or a retryable exception (busy, acknowledge)."""
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: ModbusSettings) -> LinkPolicy:
        return cls(
            settings.timeout_s, settings.retries, settings.reconnect_initial_s, settings.reconnect_max_s
        )


class Backoff:
    """When the next connection attempt may be made: doubling from ``initial`` up to ``maximum``."""

    def __init__(self, initial: float, maximum: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._initial = initial
        self._maximum = maximum
        self._clock = clock
        self._delay = 0.0
        self._not_before = 0.0

    def wait_left(self) -> float:
        """Seconds until an attempt is allowed (0 when it is)."""
        return max(0.0, self._not_before - self._clock())

    def failed(self) -> float:
        """Record a failed attempt; returns the delay before the next one."""
        self._delay = min(self._maximum, self._delay * 2) if self._delay else self._initial
        self._not_before = self._clock() + self._delay
        return self._delay

    def succeeded(self) -> None:
        self._delay = 0.0
        self._not_before = 0.0


ClientFactory = Callable[[LinkPolicy], AsyncModbusTcpClient | AsyncModbusSerialClient]


def tcp_client(host: str, port: int) -> ClientFactory:
    def make(policy: LinkPolicy) -> AsyncModbusTcpClient:
        return AsyncModbusTcpClient(host, port=port, timeout=policy.timeout_s, retries=0, reconnect_delay=0)

    return make


def rtu_client(port: str, serial: SerialSettings) -> ClientFactory:
    def make(policy: LinkPolicy) -> AsyncModbusSerialClient:
        return AsyncModbusSerialClient(
            port,
            framer=FramerType.RTU,
            baudrate=serial.baudrate,
            bytesize=serial.bytesize,
            parity=serial.parity,
            stopbits=serial.stopbits,
            timeout=policy.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    return make


class ModbusLink:
    """Not safe for concurrent use: one ``RequestQueue`` worker owns a link (one request at a
    time is what a bus allows anyway)."""

    def __init__(self, make_client: ClientFactory, policy: LinkPolicy, name: str) -> None:
        self._make_client = make_client
        self._policy = policy
        self._name = name
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._backoff = Backoff(policy.reconnect_initial_s, policy.reconnect_max_s)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def read(self, block: ReadBlock, unit_id: int) -> list[int] | list[bool]:
        """The block's registers (16-bit words) or bits, exactly ``block.count`` of them."""

        def request(client: AsyncModbusTcpClient | AsyncModbusSerialClient) -> Awaitable[ModbusPDU]:
            readers = {
                Table.COILS: client.read_coils,
                Table.DISCRETE_INPUTS: client.read_discrete_inputs,
                Table.HOLDING_REGISTERS: client.read_holding_registers,
                Table.INPUT_REGISTERS: client.read_input_registers,
            }
            return readers[block.table](block.address, count=block.count, device_id=unit_id)

        response = await self._execute(request, block.table.value)
        if block.table.is_bits:
            bits = list(response.bits)
            if len(bits) < block.count:
                raise DeviceTimeout(f"{self._name}: {len(bits)} bits in the answer, asked for {block.count}")
            return bits[: block.count]
        registers = list(response.registers)
        if len(registers) != block.count:
            raise DeviceTimeout(
                f"{self._name}: {len(registers)} registers in the answer, asked for {block.count}"
            )
        return registers

    async def write_coils(self, address: int, values: Sequence[bool], unit_id: int) -> None:
        await self._execute(
            lambda client: client.write_coils(address, list(values), device_id=unit_id), WRITE_COILS
        )

    async def write_registers(self, address: int, values: Sequence[int], unit_id: int) -> None:
        await self._execute(
            lambda client: client.write_registers(address, list(values), device_id=unit_id), WRITE_REGISTERS
        )

    def close(self) -> None:
        """Drop the connection; the next request reconnects. Safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        wait = self._backoff.wait_left()
        if wait > 0:
            raise DeviceUnavailable(f"{self._name}: reconnecting in {wait:.1f} s")
        client = self._make_client(self._policy)
        try:
            connected = await client.connect()
        except (OSError, ConnectionException) as exc:
            log.debug("%s: connect failed: %s", self._name, exc)
            connected = False
        if not connected:
            client.close()
            delay = self._backoff.failed()
            raise DeviceUnavailable(f"{self._name}: cannot connect; next attempt in {delay:.1f} s")
        self._backoff.succeeded()
        self._client = client
        log.info("%s: connected", self._name)
        return client

    async def _execute(
        self,
        request: Callable[[AsyncModbusTcpClient | AsyncModbusSerialClient], Awaitable[ModbusPDU]],
        function_code: int,
    ) -> ModbusPDU:
        failure: ModbusError | None = None
        for _attempt in range(self._policy.retries + 1):
            client = await self._connected_client()
            try:
                response = await request(client)
            except ModbusIOException as exc:
                if _being_cancelled():
                    raise asyncio.CancelledError from exc
                failure = DeviceTimeout(f"{self._name}: no valid answer to function {function_code}: {exc}")
                continue
            except ConnectionException as exc:
                self.close()
                raise DeviceUnavailable(f"{self._name}: link lost: {exc}") from exc
            if not response.isError():
                if response.function_code == function_code:
                    return response
                failure = DeviceTimeout(
                    f"{self._name}: function {response.function_code} answered function {function_code} "
                    "(a late answer to an earlier request)"
                )
                continue
            error = exception_for(function_code, int(getattr(response, "exception_code", 0)))
            if not isinstance(error, RETRYABLE_EXCEPTIONS):
                raise error
            failure = error
        assert failure is not None
        raise failure


def _being_cancelled() -> bool:
    """pymodbus turns the cancellation of a waiting request into ``ModbusIOException``; a task
    that was asked to stop must still stop (a queue worker swallowing it would never end)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
