"""Device profiles: the register map of one cabinet model, as data (``config/profiles/*.yaml``).

Cabinet controllers have no standard register map, so everything the driver needs to know about a
model lives in its profile: where each lock, sensor, value and the command mailbox sit, how wide
and how scaled values are, the word and byte order of 32-bit values, and the unit ID. The same
driver code drives every model; a new model is a new file, not new code.

Per-slot points (``drawer_unlock``, ``drawer_open``, ``slot_occupied``, ``slot_count``) repeat
once per slot and per-compartment points (``temperature``, ``humidity``, setpoints) once per
compartment, ``stride`` addresses apart (default: the value's width). Profiles are validated like
site files (``FILE: key.path: expected, found``); two points sharing an address are an error,
because a copy-paste slip there would unlock the wrong drawer.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from careedge_common.config import Identifier, StrictModel
from careedge_common.config_loader import load_yaml_model

Address = Annotated[int, Field(ge=0, le=65535)]
ADDRESS_SPACE = 65536
ValueType = Literal["int16", "uint16", "int32", "uint32", "float32"]
Order = Literal["big", "little"]
REGISTER_WIDTH: dict[str, int] = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
"""16-bit registers a value of each type occupies."""
PROTOCOL_MAX_READ_REGISTERS = 125
PROTOCOL_MAX_READ_BITS = 2000
COMMANDS = ("unlock_slot", "buzz", "clear_fault")
"""What the command mailbox can be asked to do; each profile gives the opcode its firmware uses."""
CommandName = Literal["unlock_slot", "buzz", "clear_fault"]
MAILBOX_STATUSES = ("idle", "busy", "done", "rejected")
MailboxStatusName = Literal["idle", "busy", "done", "rejected"]


class Table(enum.Enum):
    """The four Modbus data tables; the value is the read function code."""

    COILS = 1
    DISCRETE_INPUTS = 2
    HOLDING_REGISTERS = 3
    INPUT_REGISTERS = 4

    @property
    def is_bits(self) -> bool:
        return self in (Table.COILS, Table.DISCRETE_INPUTS)


class Repeat(enum.Enum):
    """How often a point occurs in a cabinet."""

    ONCE = "once"
    PER_SLOT = "per_slot"
    PER_COMPARTMENT = "per_compartment"


class BitPoint(StrictModel):
    address: Address
    stride: int = Field(default=1, ge=1, le=256)
    """Bits between one slot's point and the next (per-slot points only)."""


class RegisterPoint(StrictModel):
    address: Address
    type: ValueType = "uint16"
    scale: float = 1.0
    """Engineering value = raw value x scale (0.1 for a temperature sent in tenths of a degree)."""
    stride: int | None = Field(default=None, ge=1, le=256)
    """Registers between one element and the next (per-slot/compartment points); default its width."""

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("a non-zero scale factor")
        return value

    @property
    def width(self) -> int:
        return REGISTER_WIDTH[self.type]

    @model_validator(mode="after")
    def _stride_fits(self) -> Self:
        if self.stride is not None and self.stride < self.width:
            raise ValueError(f"a stride of at least {self.width} for a {self.type}, found {self.stride}")
        return self


class Coils(StrictModel):
    drawer_unlock: BitPoint
    """Per slot: set to release the drawer's lock; the controller relocks it by itself."""
    buzzer: BitPoint | None = None


class DiscreteInputs(StrictModel):
    drawer_open: BitPoint
    """Per slot."""
    slot_occupied: BitPoint
    """Per slot: the slot's sensor sees at least one dose."""
    door_open: BitPoint | None = None
    """The cabinet's outer door (pharmacist access)."""


class InputRegisters(StrictModel):
    temperature: RegisterPoint
    """Per compartment, in degrees Celsius after scaling."""
    humidity: RegisterPoint | None = None
    """Per compartment, in percent relative humidity after scaling."""
    firmware_version: RegisterPoint
    fault_code: RegisterPoint
    """0 when the controller reports no fault."""


class Mailbox(StrictModel):
    """The command mailbox: write ``argument`` and ``opcode``, then ``command_id`` (all in one
    request when contiguous); the controller runs the command once per command ID and reports in
    ``status``. Writing an ID it already ran does nothing, so a repeated command is harmless."""

    command_id: RegisterPoint
    opcode: RegisterPoint
    argument: RegisterPoint
    status: RegisterPoint
    opcodes: dict[CommandName, Annotated[int, Field(ge=0, le=65535)]]
    statuses: dict[MailboxStatusName, Annotated[int, Field(ge=0, le=65535)]]

    @field_validator("opcodes")
    @classmethod
    def _every_command(cls, value: dict[str, int]) -> dict[str, int]:
        return _complete_and_distinct("opcodes", value, COMMANDS)

    @field_validator("statuses")
    @classmethod
    def _every_status(cls, value: dict[str, int]) -> dict[str, int]:
        return _complete_and_distinct("statuses", value, MAILBOX_STATUSES)

    @field_validator("command_id")
    @classmethod
    def _unsigned_id(cls, value: RegisterPoint) -> RegisterPoint:
        if value.type not in ("uint16", "uint32"):
            raise ValueError(f"a command_id of type uint16 or uint32, found {value.type}")
        return value


def _complete_and_distinct(what: str, table: dict[str, int], names: tuple[str, ...]) -> dict[str, int]:
    missing = [name for name in names if name not in table]
    if missing:
        raise ValueError(f"{what} for {', '.join(names)}, missing {', '.join(missing)}")
    if len(set(table.values())) != len(table):
        raise ValueError(f"distinct {what} values, found {table}")
    return table


class HoldingRegisters(StrictModel):
    slot_count: RegisterPoint
    """Per slot: doses the controller counts in the slot (kept through a power loss)."""
    temperature_low: RegisterPoint
    """Per compartment: the lower alarm setpoint, degrees Celsius after scaling."""
    temperature_high: RegisterPoint
    """Per compartment: the upper alarm setpoint."""
    mailbox: Mailbox


class CabinetProfile(StrictModel):
    model: str = Field(min_length=1, max_length=64)
    unit_id: int = Field(ge=1, le=247)
    """The controller's Modbus address on its bus (1 to 247)."""
    byte_order: Order = "big"
    """Byte order within one 16-bit register (the Modbus standard is big)."""
    word_order: Order = "big"
    """Order of the two registers of a 32-bit value: big puts the most significant word first."""
    slots: int = Field(ge=1, le=64)
    compartments: list[Identifier] = Field(min_length=1, max_length=8)
    """Climate zones (e.g. ambient, fridge), each with its temperature and setpoints."""
    max_read_registers: int = Field(default=PROTOCOL_MAX_READ_REGISTERS, ge=1, le=PROTOCOL_MAX_READ_REGISTERS)
    """Largest register read the controller accepts (some firmware allows fewer than 125)."""
    max_read_bits: int = Field(default=PROTOCOL_MAX_READ_BITS, ge=1, le=PROTOCOL_MAX_READ_BITS)
    coils: Coils
    discrete_inputs: DiscreteInputs
    input_registers: InputRegisters
    holding_registers: HoldingRegisters

    @field_validator("compartments")
    @classmethod
    def _unique_compartments(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"unique compartment names, found {value}")
        return value

    @model_validator(mode="after")
    def _no_shared_addresses(self) -> Self:
        problems: list[InitErrorDetails] = []
        taken: dict[Table, list[tuple[int, int, tuple[str, ...]]]] = {}
        for point in self.points():
            if point.end > ADDRESS_SPACE:
                problems.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "address_range",
                            "addresses within 0-65535 for every slot and compartment, found {found}",
                            {"found": _span(point.address, point.width)},
                        ),
                        loc=point.key,
                        input=point.address,
                    )
                )
                continue
            for start, end, other in taken.get(point.table, []):
                if point.address < end and start < point.address + point.width and other != point.key:
                    problems.append(
                        InitErrorDetails(
                            type=PydanticCustomError(
                                "overlapping_address",
                                "an address no other point uses, found {found} also used by {other}",
                                {"found": _span(point.address, point.width), "other": ".".join(other)},
                            ),
                            loc=point.key,
                            input=point.address,
                        )
                    )
                    break
            taken.setdefault(point.table, []).append((point.address, point.address + point.width, point.key))
        if problems:
            unique: dict[tuple[int | str, ...], InitErrorDetails] = {}
            for problem in problems:
                unique.setdefault(tuple(problem["loc"]), problem)
            raise ValidationError.from_exception_data(type(self).__name__, list(unique.values()))
        return self

    def points(self) -> Iterator[Point]:
        """Every point of the map, per-slot and per-compartment points expanded."""
        yield from self._bits(
            Table.COILS, "coils", self.coils.drawer_unlock, "drawer_unlock", Repeat.PER_SLOT
        )
        if self.coils.buzzer is not None:
            yield from self._bits(Table.COILS, "coils", self.coils.buzzer, "buzzer", Repeat.ONCE)
        inputs = self.discrete_inputs
        for name in ("drawer_open", "slot_occupied"):
            yield from self._bits(
                Table.DISCRETE_INPUTS, "discrete_inputs", getattr(inputs, name), name, Repeat.PER_SLOT
            )
        if inputs.door_open is not None:
            yield from self._bits(
                Table.DISCRETE_INPUTS, "discrete_inputs", inputs.door_open, "door_open", Repeat.ONCE
            )
        registers = self.input_registers
        table = Table.INPUT_REGISTERS
        yield from self._registers(
            table, "input_registers", registers.temperature, "temperature", Repeat.PER_COMPARTMENT
        )
        if registers.humidity is not None:
            yield from self._registers(
                table, "input_registers", registers.humidity, "humidity", Repeat.PER_COMPARTMENT
            )
        for name in ("firmware_version", "fault_code"):
            yield from self._registers(table, "input_registers", getattr(registers, name), name, Repeat.ONCE)
        holding = self.holding_registers
        table = Table.HOLDING_REGISTERS
        yield from self._registers(
            table, "holding_registers", holding.slot_count, "slot_count", Repeat.PER_SLOT
        )
        for name in ("temperature_low", "temperature_high"):
            yield from self._registers(
                table, "holding_registers", getattr(holding, name), name, Repeat.PER_COMPARTMENT
            )
        for name in ("command_id", "opcode", "argument", "status"):
            yield from self._registers(
                table,
                "holding_registers",
                getattr(holding.mailbox, name),
                name,
                Repeat.ONCE,
                parent="mailbox",
            )

    def point(self, name: str, index: int = 0) -> Point:
        """The point called ``name`` (the last part of its key) for slot/compartment ``index`` (0-based)."""
        for point in self.points():
            if point.name == name and point.index == index:
                return point
        raise KeyError(f"{self.model} has no point {name}[{index}]")

    def _repeats(self, repeat: Repeat) -> int:
        if repeat is Repeat.PER_SLOT:
            return self.slots
        if repeat is Repeat.PER_COMPARTMENT:
            return len(self.compartments)
        return 1

    def _bits(self, table: Table, section: str, bit: BitPoint, name: str, repeat: Repeat) -> Iterator[Point]:
        for index in range(self._repeats(repeat)):
            yield Point(
                (section, name), table, bit.address + index * bit.stride, 1, "bool", 1.0, index, repeat
            )

    def _registers(
        self,
        table: Table,
        section: str,
        register: RegisterPoint,
        name: str,
        repeat: Repeat,
        parent: str | None = None,
    ) -> Iterator[Point]:
        key = (section, parent, name) if parent is not None else (section, name)
        stride = register.stride or register.width
        for index in range(self._repeats(repeat)):
            yield Point(
                key,
                table,
                register.address + index * stride,
                register.width,
                register.type,
                register.scale,
                index,
                repeat,
            )


@dataclass(frozen=True, slots=True)
class Point:
    """One value in the register map: where it is, how wide, how to read it."""

    key: tuple[str, ...]
    """The profile's key path (``("holding_registers", "slot_count")``), for error messages."""
    table: Table
    address: int
    width: int
    """Bits (bit tables) or 16-bit registers."""
    type: ValueType | Literal["bool"]
    scale: float
    index: int
    """0-based slot or compartment number (0 for single points)."""
    repeat: Repeat

    @property
    def name(self) -> str:
        return self.key[-1]

    @property
    def end(self) -> int:
        return self.address + self.width


def _span(address: int, width: int) -> str:
    return str(address) if width == 1 else f"{address}-{address + width - 1}"


def load_profile(path: Path) -> CabinetProfile:
    """Read and validate a profile; ``careedge_common.config_loader.ConfigError`` lists every problem."""
    return load_yaml_model(path, CabinetProfile)
