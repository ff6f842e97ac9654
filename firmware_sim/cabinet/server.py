"""The simulated cabinet controller on the wire: a pymodbus server answering from the model.

``CabinetServer`` runs in the caller's event loop (the benchmark runs many in one loop);
``CabinetSimulator`` runs one in a thread of its own, for tests and ``careedge sim cabinet``, so
the driver under test never shares an event loop with the device it talks to.

Over TCP it listens on a loopback port; over RTU it serves one end of a null-modem pty pair and
``device_path`` is the other end, for the driver to open.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.datastore.context import ModbusBaseDeviceContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from drivers.modbus.profile import Table
from firmware_sim.cabinet.model import CabinetModel
from firmware_sim.cabinet.null_modem import NullModem

TICK_S = 0.1
"""How often the model advances while nobody asks (relocks, the scripted resident, drift)."""
STOP_JOIN_S = 5.0
WRITE_TABLES = {5: Table.COILS, 15: Table.COILS, 6: Table.HOLDING_REGISTERS, 16: Table.HOLDING_REGISTERS}
SINGLE_WRITES = (5, 6)
"""pymodbus reads the value back after a single write to echo it; that read is not a request."""


class _CabinetDevice(ModbusBaseDeviceContext):
    """pymodbus's data-store interface, answered by the model (protocol addresses, no +1)."""

    def __init__(self, model: CabinetModel) -> None:
        self._model = model

    async def async_getValues(  # noqa: N802 - pymodbus names it
        self, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        if func_code in SINGLE_WRITES:
            return [self._model.peek(WRITE_TABLES[func_code], address)]
        if func_code not in (1, 2, 3, 4):
            return ExcCodes.ILLEGAL_FUNCTION
        result = self._model.read(func_code, address, count)
        if isinstance(result, int):
            return ExcCodes(result)
        return [bool(value) for value in result] if Table(func_code).is_bits else result

    async def async_setValues(  # noqa: N802 - pymodbus names it
        self, func_code: int, address: int, values: Sequence[int | bool]
    ) -> ExcCodes | None:
        table = WRITE_TABLES.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        fault = self._model.write(func_code, table, address, [int(value) for value in values])
        return None if fault is None else ExcCodes(fault)


class _CabinetBus(ModbusServerContext):
    """The controllers on one line: each answers its own unit ID only, and only when its model says
    it answers (powered, no dropped-response fault); otherwise the request goes unanswered."""

    def __init__(self, models: Sequence[CabinetModel]) -> None:
        self._models = {model.profile.unit_id: model for model in models}
        if len(self._models) != len(models):
            raise ValueError(
                f"one unit ID per controller on a line, found {[m.profile.unit_id for m in models]}"
            )
        self._contexts = {unit: _CabinetDevice(model) for unit, model in self._models.items()}
        super().__init__(devices=dict(self._contexts), single=False)  # type: ignore[no-untyped-call]

    def __getitem__(self, device_id: int) -> _CabinetDevice:
        model = self._models.get(device_id)
        if model is None or not model.answers():
            raise NoSuchIdException(f"no answer from unit {device_id}")  # type: ignore[no-untyped-call]
        return self._contexts[device_id]


class CabinetServer:
    """``tcp_port`` None serves RTU on a null-modem pty pair instead of TCP. ``others``: more
    controllers on the same line or behind the same TCP gateway, each with its own unit ID."""

    def __init__(
        self,
        model: CabinetModel,
        *,
        tcp_port: int | None,
        host: str = "127.0.0.1",
        others: Sequence[CabinetModel] = (),
    ) -> None:
        self.model = model
        self._models = [model, *others]
        self._context = _CabinetBus(self._models)
        self._tcp = (host, tcp_port) if tcp_port is not None else None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._modem: NullModem | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def device_path(self) -> Path:
        """RTU only: the pty the driver opens."""
        if self._modem is None or self._modem.paths is None:
            raise RuntimeError("not serving RTU")
        return self._modem.paths[1]

    @property
    def endpoint(self) -> str:
        """Where a driver connects: ``host:port`` or the pty path."""
        return f"{self._tcp[0]}:{self._tcp[1]}" if self._tcp is not None else str(self.device_path)

    async def start(self) -> None:
        """Listen (TCP) or open the cable (RTU); raises ``OSError``/``RuntimeError`` if it cannot."""
        context = self._context
        if self._tcp is not None:
            self._server = ModbusTcpServer(context, address=self._tcp, ignore_missing_devices=True)
        else:
            self._modem = NullModem()
            controller_end, _ = self._modem.open()
            self._server = ModbusSerialServer(
                context, framer=FramerType.RTU, port=str(controller_end), ignore_missing_devices=True
            )
        await self._server.serve_forever(background=True)
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        """Close the listener and every connection (a restarted controller drops its clients)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
        if self._modem is not None:
            self._modem.close()
            self._modem = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            for model in self._models:
                model.tick()


class CabinetSimulator:
    """A ``CabinetServer`` on its own thread and event loop. ``start`` returns once it listens;
    ``restart`` stops and starts it again on the same port (a controller rebooting)."""

    def __init__(
        self, model: CabinetModel, *, tcp_port: int | None, others: Sequence[CabinetModel] = ()
    ) -> None:
        self.model = model
        self._server = CabinetServer(model, tcp_port=tcp_port, others=others)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cabinet-sim", daemon=True)

    @property
    def device_path(self) -> Path:
        return self._server.device_path

    @property
    def endpoint(self) -> str:
        return self._server.endpoint

    def start(self) -> None:
        self._thread.start()
        self._call(self._server.start())

    def stop_serving(self) -> None:
        self._call(self._server.stop())

    def start_serving(self) -> None:
        self._call(self._server.start())

    def stop(self) -> None:
        """Stop serving and end the thread. Idempotent."""
        if self._thread.is_alive():
            self._call(self._server.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_JOIN_S)
            if self._thread.is_alive():
                raise RuntimeError("cabinet simulator thread did not stop")
        if not self._loop.is_closed():
            self._loop.close()

    def __enter__(self) -> CabinetSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(STOP_JOIN_S)
