"""A medicine cabinet on Modbus, as the dispensing and refill workflows see it.

Everything a workflow asks for goes through the bus's request queue: ``poll`` at routine priority,
everything else (``unlock_slot``, ``read_slot``, verified writes, mailbox commands) at command
priority, so it is sent before the next routine read. Every write is read back in the same queue
turn, and a value that did not stick raises ``WriteNotVerified``: a workflow never assumes a drawer
was released because a write was acknowledged.

Slots are numbered from 1, as on the cabinet's front; compartments by the profile's names.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from careedge_common.config import DeviceConfig
from drivers.modbus.codec import decode, encode
from drivers.modbus.errors import CommandRejected, ModbusError, WriteNotVerified
from drivers.modbus.link import LinkPolicy, ModbusLink, rtu_client, tcp_client
from drivers.modbus.planner import ReadBlock, plan_reads
from drivers.modbus.profile import CabinetProfile, CommandName, MailboxStatusName, Point, load_profile
from drivers.modbus.request_queue import Priority, RequestQueue

log = logging.getLogger(__name__)
T = TypeVar("T")

MAILBOX_FIELDS = ("command_id", "opcode", "argument", "status")
MAILBOX_BUSY_PAUSE_S = 0.05
"""Pause between mailbox reads while a command is busy; the bus serves others meanwhile."""
DEFAULT_COMMAND_TIMEOUT_S = 5.0
"""How long a mailbox command may stay ``busy`` before ``CommandRejected``."""


class ModbusBus:
    """One link and its request queue, shared by every cabinet on the same bus (RS-485 line or TCP
    gateway). ``start`` inside the event loop that uses it; ``stop`` closes the link."""

    def __init__(self, link: ModbusLink, name: str) -> None:
        self.link = link
        self.queue = RequestQueue(name)

    @classmethod
    def for_device(cls, device: DeviceConfig) -> ModbusBus:
        """The bus a ``modbus_cabinet`` device's settings describe. Cabinets with the same
        ``bus_key`` share one line: open one bus for them and pass it to each ``from_config``."""
        settings = device.modbus
        if settings is None or device.kind != "modbus_cabinet":
            raise ValueError(f"{device.id}: not a modbus_cabinet device")
        if device.transport == "modbus_tcp":
            assert settings.host is not None
            make_client = tcp_client(settings.host, settings.tcp_port)
        else:
            make_client = rtu_client(device.serial_port, device.serial)
        return cls(
            ModbusLink(make_client, LinkPolicy.from_settings(settings), bus_key(device)), bus_key(device)
        )

    def start(self) -> None:
        self.queue.start()

    async def stop(self) -> None:
        await self.queue.stop()
        self.link.close()


class PollAbandoned(ModbusError):
    """A poll request not sent because an earlier request of the same poll failed."""


class _PollAttempt:
    """The requests of one poll: once one fails, the rest are not sent. A silent cabinet would
    otherwise hold its bus for every request's timeouts and retries, delaying the other cabinets
    of the line; the poll fails with the first request's error either way."""

    def __init__(self, link: ModbusLink, unit_id: int) -> None:
        self._link = link
        self._unit_id = unit_id
        self._failed = False

    def reader(self, block: ReadBlock) -> Callable[[], Awaitable[list[int] | list[bool]]]:
        async def read() -> list[int] | list[bool]:
            if self._failed:
                raise PollAbandoned(f"{block} not read: an earlier request of this poll failed")
            try:
                return await self._link.read(block, self._unit_id)
            except Exception:
                self._failed = True
                raise

        return read


def bus_key(device: DeviceConfig) -> str:
    """Which line a Modbus device is on: ``tcp:HOST:PORT`` or ``rtu:PORT``."""
    if device.transport == "modbus_tcp" and device.modbus is not None:
        return f"tcp:{device.modbus.host}:{device.modbus.tcp_port}"
    return f"rtu:{device.serial_port}"


@dataclass(frozen=True, slots=True)
class SlotState:
    slot: int
    unlocked: bool
    """The lock coil: the controller is holding the lock released."""
    drawer_open: bool
    occupied: bool
    count: int
    """Doses the controller counts in the slot."""


@dataclass(frozen=True, slots=True)
class MailboxState:
    command_id: int
    opcode: int
    argument: int
    status: MailboxStatusName | None
    """None when the controller reports a status the profile does not name."""


@dataclass(frozen=True, slots=True)
class CabinetSnapshot:
    """Everything one poll read. Tuples are indexed by slot - 1."""

    read_at: datetime
    unlocked: tuple[bool, ...]
    drawer_open: tuple[bool, ...]
    occupied: tuple[bool, ...]
    slot_count: tuple[int, ...]
    door_open: bool | None
    buzzer: bool | None
    temperature_c: dict[str, float]
    humidity_pct: dict[str, float] | None
    temperature_low_c: dict[str, float]
    temperature_high_c: dict[str, float]
    firmware_version: int
    fault_code: int
    mailbox: MailboxState

    def slot(self, slot: int) -> SlotState:
        i = slot - 1
        return SlotState(slot, self.unlocked[i], self.drawer_open[i], self.occupied[i], self.slot_count[i])


class ModbusCabinet:
    def __init__(
        self,
        profile: CabinetProfile,
        bus: ModbusBus,
        *,
        name: str,
        command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    ) -> None:
        self.profile = profile
        self.name = name
        self._bus = bus
        self._command_timeout_s = command_timeout_s
        self._points = list(profile.points())
        self._plan = plan_reads(self._points, profile.max_read_registers, profile.max_read_bits)
        self._layout = _locate(self._points, self._plan)
        self._positions: dict[str, list[int]] = {}
        for position, point in enumerate(self._points):
            self._positions.setdefault(point.name, []).append(position)

    @classmethod
    def from_config(
        cls, device: DeviceConfig, site_dir: Path, *, bus: ModbusBus | None = None
    ) -> ModbusCabinet:
        """A cabinet as a ``modbus_cabinet`` device of a site file describes it, on ``bus`` (shared
        with the other cabinets of its line) or, by default, on a bus of its own.

        ``site_dir``: the site file's folder, against which a relative profile path is read.
        Raises ``careedge_common.config_loader.ConfigError`` for a bad profile."""
        if device.modbus is None or device.kind != "modbus_cabinet":
            raise ValueError(f"{device.id}: not a modbus_cabinet device")
        profile = load_profile(site_dir / device.modbus.profile)
        return cls(profile, bus or ModbusBus.for_device(device), name=device.id)

    @property
    def read_plan(self) -> list[ReadBlock]:
        """The requests one ``poll`` sends."""
        return list(self._plan)

    @property
    def bus(self) -> ModbusBus:
        return self._bus

    async def poll(self) -> CabinetSnapshot:
        """Read every point of the profile, one request per contiguous range (routine priority).

        Each request waits its own turn, so a command issued mid-poll is sent before the rest."""
        attempt = _PollAttempt(self._bus.link, self.profile.unit_id)
        results = await asyncio.gather(
            *(self._bus.queue.submit(Priority.POLL, attempt.reader(block)) for block in self._plan)
        )
        return self._snapshot(self._decode(self._points, self._layout, results))

    async def poll_forever(
        self,
        interval_s: float,
        on_snapshot: Callable[[CabinetSnapshot], Awaitable[None] | None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Poll every ``interval_s`` (start to start) until cancelled; a failed poll is reported
        to ``on_error`` and the next one is tried on time (the link backs off reconnects)."""
        next_at = time.monotonic()
        while True:
            try:
                outcome = on_snapshot(await self.poll())
                if outcome is not None:
                    await outcome
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                on_error(exc)
            next_at += interval_s
            now = time.monotonic()
            if next_at < now:
                next_at = now
            await asyncio.sleep(next_at - now)

    async def read_slot(self, slot: int) -> SlotState:
        """Lock, drawer and occupancy sensors and the dose count of one slot, at command priority."""
        index = self._slot_index(slot)
        names = ("drawer_unlock", "drawer_open", "slot_occupied", "slot_count")
        points = [self.profile.point(name, index) for name in names]
        unlocked, drawer_open, occupied, count = await self._command(lambda: self._read_points(points))
        return SlotState(slot, bool(unlocked), bool(drawer_open), bool(occupied), int(count))

    async def unlock_slot(self, slot: int) -> None:
        """Release the slot's lock; the controller relocks it by itself. ``WriteNotVerified`` if
        the lock coil does not read back as released (a stuck lock)."""
        await self._write_bits(self.profile.point("drawer_unlock", self._slot_index(slot)), True)

    async def set_buzzer(self, on: bool) -> None:
        if self.profile.coils.buzzer is None:
            raise ValueError(f"{self.profile.model} has no buzzer")
        await self._write_bits(self.profile.point("buzzer"), on)

    async def write_slot_count(self, slot: int, count: int) -> None:
        """Set a slot's dose count (after a refill), verified by reading it back."""
        await self._write_value(self.profile.point("slot_count", self._slot_index(slot)), count)

    async def write_setpoints(self, compartment: str, low_c: float, high_c: float) -> None:
        """The compartment's alarm limits in °C, each verified by reading it back."""
        if low_c >= high_c:
            raise ValueError(f"low {low_c} below high {high_c}")
        index = self._compartment_index(compartment)
        await self._write_value(self.profile.point("temperature_low", index), low_c)
        await self._write_value(self.profile.point("temperature_high", index), high_c)

    async def read_mailbox(self) -> MailboxState:
        points = [self.profile.point(name) for name in MAILBOX_FIELDS]
        return self._mailbox(await self._command(lambda: self._read_points(points)))

    async def run_command(self, command_id: int, command: CommandName, argument: int = 0) -> MailboxState:
        """Put a command in the controller's mailbox and wait until it reports ``done``.

        The controller runs a command ID once: sending the same ID again (after a timeout, a
        restart) returns the recorded outcome and does not act twice. Raises ``WriteNotVerified``
        if the mailbox does not read back the ID, ``CommandRejected`` if the controller rejects the
        command or it stays busy beyond the command timeout."""
        mailbox = self.profile.holding_registers.mailbox
        if command_id <= 0:
            raise ValueError("command IDs start at 1 (0 means no command)")
        await self._command(lambda: self._write_mailbox(command_id, mailbox.opcodes[command], argument))
        deadline = time.monotonic() + self._command_timeout_s
        while True:
            state = await self.read_mailbox()
            if state.command_id != command_id:
                raise WriteNotVerified("holding_registers.mailbox.command_id", command_id, state.command_id)
            if state.status == "done":
                return state
            if state.status == "rejected":
                raise CommandRejected(f"{self.name}: command {command_id} ({command}) rejected")
            if time.monotonic() >= deadline:
                raise CommandRejected(f"{self.name}: command {command_id} ({command}) still {state.status}")
            await asyncio.sleep(MAILBOX_BUSY_PAUSE_S)

    async def _command(self, job: Callable[[], Awaitable[T]]) -> T:
        return await self._bus.queue.submit(Priority.COMMAND, job)

    async def _write_bits(self, point: Point, value: bool) -> None:
        async def write_and_verify() -> None:
            await self._bus.link.write_coils(point.address, [value], self.profile.unit_id)
            read_back = (await self._read_points([point]))[0]
            if bool(read_back) != value:
                raise WriteNotVerified(self._where(point), value, bool(read_back))

        await self._command(write_and_verify)

    async def _write_value(self, point: Point, value: float) -> None:
        assert point.type != "bool"
        words = encode(value, point.type, point.scale, self.profile.word_order, self.profile.byte_order)

        async def write_and_verify() -> None:
            await self._bus.link.write_registers(point.address, words, self.profile.unit_id)
            block = ReadBlock(point.table, point.address, point.width)
            read_back = await self._bus.link.read(block, self.profile.unit_id)
            if list(read_back) != words:
                raise WriteNotVerified(
                    self._where(point), value, self._decode_one(point, [int(w) for w in read_back])
                )

        await self._command(write_and_verify)

    async def _write_mailbox(self, command_id: int, opcode: int, argument: int) -> None:
        """Opcode and argument first, the command ID last: the controller acts when the ID changes."""
        order = self.profile.word_order, self.profile.byte_order
        writes: list[tuple[int, list[int]]] = []
        for name, value in (("opcode", opcode), ("argument", argument), ("command_id", command_id)):
            point = self.profile.point(name)
            assert point.type != "bool"
            writes.append((point.address, encode(value, point.type, point.scale, *order)))
        merged = _merge_writes(writes)
        for address, words in merged:
            await self._bus.link.write_registers(address, words, self.profile.unit_id)

    async def _read_points(self, points: Sequence[Point]) -> list[float]:
        """The points' values, in the order given, read now (the caller holds the queue's turn)."""
        plan = plan_reads(points, self.profile.max_read_registers, self.profile.max_read_bits)
        results = [await self._bus.link.read(block, self.profile.unit_id) for block in plan]
        return self._decode(points, _locate(points, plan), results)

    def _decode(
        self,
        points: Sequence[Point],
        layout: Sequence[tuple[int, int]],
        results: Sequence[list[int] | list[bool]],
    ) -> list[float]:
        return [
            self._decode_one(point, [int(word) for word in results[block][offset : offset + point.width]])
            for point, (block, offset) in zip(points, layout, strict=True)
        ]

    def _decode_one(self, point: Point, raw: list[int]) -> float:
        if point.type == "bool":
            return float(bool(raw[0]))
        return decode(raw, point.type, point.scale, self.profile.word_order, self.profile.byte_order)

    def _snapshot(self, values: list[float]) -> CabinetSnapshot:
        by_name = {name: [values[i] for i in positions] for name, positions in self._positions.items()}
        compartments = self.profile.compartments

        def per_compartment(name: str) -> dict[str, float]:
            return dict(zip(compartments, by_name[name], strict=True))

        def single_bit(name: str) -> bool | None:
            return bool(by_name[name][0]) if name in by_name else None

        return CabinetSnapshot(
            read_at=datetime.now(UTC),
            unlocked=tuple(bool(v) for v in by_name["drawer_unlock"]),
            drawer_open=tuple(bool(v) for v in by_name["drawer_open"]),
            occupied=tuple(bool(v) for v in by_name["slot_occupied"]),
            slot_count=tuple(int(v) for v in by_name["slot_count"]),
            door_open=single_bit("door_open"),
            buzzer=single_bit("buzzer"),
            temperature_c=per_compartment("temperature"),
            humidity_pct=per_compartment("humidity") if "humidity" in by_name else None,
            temperature_low_c=per_compartment("temperature_low"),
            temperature_high_c=per_compartment("temperature_high"),
            firmware_version=int(by_name["firmware_version"][0]),
            fault_code=int(by_name["fault_code"][0]),
            mailbox=self._mailbox(by_name[name][0] for name in MAILBOX_FIELDS),
        )

    def _mailbox(self, values: Iterable[float]) -> MailboxState:
        command_id, opcode, argument, status = (int(v) for v in values)
        names = {code: name for name, code in self.profile.holding_registers.mailbox.statuses.items()}
        return MailboxState(command_id, opcode, argument, names.get(status))

    def _slot_index(self, slot: int) -> int:
        if not 1 <= slot <= self.profile.slots:
            raise ValueError(f"slot 1 to {self.profile.slots} on a {self.profile.model}, found {slot}")
        return slot - 1

    def _compartment_index(self, compartment: str) -> int:
        if compartment not in self.profile.compartments:
            raise ValueError(f"one of {', '.join(self.profile.compartments)}, found {compartment!r}")
        return self.profile.compartments.index(compartment)

    def _where(self, point: Point) -> str:
        return f"{self.name}: {'.'.join(point.key)}[{point.index}]"


def _locate(points: Sequence[Point], plan: Sequence[ReadBlock]) -> list[tuple[int, int]]:
    """For each point, which request of ``plan`` holds it and at which offset."""
    layout: list[tuple[int, int]] = []
    for point in points:
        block = next(i for i, candidate in enumerate(plan) if candidate.covers(point))
        layout.append((block, point.address - plan[block].address))
    return layout


def _merge_writes(writes: list[tuple[int, list[int]]]) -> list[tuple[int, list[int]]]:
    """Adjacent register writes as one request, keeping their order otherwise (the last write of
    the mailbox, its command ID, must not go before the others)."""
    merged: list[tuple[int, list[int]]] = []
    for address, words in writes:
        if merged:
            last_address, last_words = merged[-1]
            if last_address + len(last_words) == address:
                merged[-1] = (last_address, last_words + words)
                continue
            if address + len(words) == last_address:
                merged[-1] = (address, words + last_words)
                continue
        merged.append((address, words))
    return merged
