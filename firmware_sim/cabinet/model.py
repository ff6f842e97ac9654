"""The physical cabinet behind the simulated controller's registers.

Locks, drawers, doses and compartment climate behave like the real thing, and the register image
the Modbus server answers from is rendered from that state through the cabinet's profile. So a
test drives the cabinet the way the edge does, over Modbus, and plays the resident or pharmacist
through this model's methods (``open_drawer``, ``take_doses``, ``close_drawer``).

- A drawer's lock is released while its coil is set; the controller clears the coil by itself
  ``relock_after_s`` seconds later (or when the master clears it). A drawer opens only while its
  lock is released; once open it stays open until closed, whatever the lock does.
- Slot counts live in holding registers (non-volatile): the master may write them (a refill) and
  they drop when doses are taken. A slot is "occupied" while its count is above zero.
- Compartment temperatures drift towards their ambient target with noise; ``push_temperature``
  holds one at a value (a fridge door left open), ``release_temperature`` lets it drift back.
- The command mailbox runs each command ID once; writing an ID it already ran changes nothing.
- Faults on demand: no response, exception responses, a stuck lock, a sensor out of range, and
  power loss (no answers while off; coils reset when power returns; holding registers kept).

Thread-safe: the server's event loop and a test's thread may call it at once. Time comes from
``clock`` (monotonic seconds), and state advances whenever the server handles a request or
``tick`` is called, so a test needs no sleeps to see a lock relock: it polls until it has.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from drivers.modbus.codec import decode, encode
from drivers.modbus.profile import CabinetProfile, Point, Table

FRIDGE_TARGET_C = 5.0
AMBIENT_TARGET_C = 22.0
FRIDGE_SETPOINTS_C = (2.0, 8.0)
AMBIENT_SETPOINTS_C = (15.0, 25.0)
HUMIDITY_PCT = 45.0
DRIFT_TIME_CONSTANT_S = 600.0
"""How fast a compartment returns to its target after a push (first-order, like a fridge)."""
NOISE_C_PER_SQRT_S = 0.02
SENSOR_OUT_OF_RANGE_RAW = {"int16": 0x7FFF, "uint16": 0xFFFF, "int32": 0x7FFFFFFF, "uint32": 0xFFFFFFFF}
"""What a broken (open-circuit) probe reads: the largest raw value its register holds."""
SENSOR_OUT_OF_RANGE_FLOAT_C = 3276.7
SERVED_KEPT = 10_000
FAULT_NONE = 0
FAULT_SENSOR = 0x0010
FAULT_LOCK = 0x0020
DEFAULT_FIRMWARE_VERSION = 0x0203
DEFAULT_DOSES_PER_SLOT = 28
EXCEPTION_ILLEGAL_ADDRESS = 0x02


class DrawerLocked(Exception):
    """A resident pulled a drawer whose lock is not released."""


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A request the controller answered (normally or with an exception)."""

    function_code: int
    address: int
    count: int
    exception_code: int | None = None


class CabinetModel:
    def __init__(
        self,
        profile: CabinetProfile,
        *,
        relock_after_s: float = 5.0,
        doses_per_slot: int = DEFAULT_DOSES_PER_SLOT,
        firmware_version: int = DEFAULT_FIRMWARE_VERSION,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.profile = profile
        self.relock_after_s = relock_after_s
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._points = list(profile.points())
        self._by_key: dict[tuple[str, int], Point] = {(p.name, p.index): p for p in self._points}
        self._image: dict[Table, dict[int, int]] = {table: {} for table in Table}
        for point in self._points:
            for address in range(point.address, point.end):
                self._image[point.table][address] = 0
        slots = range(profile.slots)
        self._unlocked_until: list[float | None] = [None for _ in slots]
        self._drawer_open = [False for _ in slots]
        self._stuck = [False for _ in slots]
        self._resident_served = [False for _ in slots]
        self._door_open = False
        self._temperature = [self._target(name) for name in profile.compartments]
        self._held: list[float | None] = [None for _ in profile.compartments]
        self._sensor_failed = [False for _ in profile.compartments]
        self._firmware_version = firmware_version
        self._fault_code = FAULT_NONE
        self._powered = True
        self._drop_left: int | None = 0
        self._exception: tuple[int, int | None] | None = None
        self._executed_command_id = 0
        self._last_tick = clock()
        self.resident_doses: int | None = None
        """When set, a scripted resident opens every released drawer, takes this many doses and
        closes it again (the ``--resident`` mode of ``careedge sim cabinet``)."""
        self.served: deque[ServedRequest] = deque(maxlen=SERVED_KEPT)
        """The newest requests answered, oldest first (tests count them; ``clear_served`` empties it)."""
        self.answered = 0
        """Requests answered since start (normally or with an exception)."""
        self.ignored = 0
        """Requests left unanswered (no-response and power-off faults)."""
        for slot in slots:
            self._set_value("slot_count", slot, doses_per_slot)
        for index, name in enumerate(profile.compartments):
            low, high = FRIDGE_SETPOINTS_C if name == "fridge" else AMBIENT_SETPOINTS_C
            self._set_value("temperature_low", index, low)
            self._set_value("temperature_high", index, high)
        self._set_value("status", 0, profile.holding_registers.mailbox.statuses["idle"])
        self._render()

    # --- the resident's and pharmacist's side ------------------------------------------------

    def open_drawer(self, slot: int) -> None:
        """Pull the drawer open; ``DrawerLocked`` unless its lock is released."""
        with self._lock:
            self._advance()
            i = self._slot(slot)
            if not self._drawer_open[i] and self._unlocked_until[i] is None:
                raise DrawerLocked(f"drawer {slot} is locked")
            self._drawer_open[i] = True
            self._render()

    def take_doses(self, slot: int, doses: int = 1) -> None:
        """Take doses out of an open drawer; ``ValueError`` if it is closed or holds fewer."""
        with self._lock:
            i = self._slot(slot)
            if not self._drawer_open[i]:
                raise ValueError(f"drawer {slot} is closed")
            left = self.slot_count(slot)
            if not 1 <= doses <= left:
                raise ValueError(f"drawer {slot} holds {left} doses, cannot take {doses}")
            self._set_value("slot_count", i, left - doses)
            self._render()

    def close_drawer(self, slot: int) -> None:
        with self._lock:
            self._drawer_open[self._slot(slot)] = False
            self._render()

    def open_door(self) -> None:
        with self._lock:
            self._door_open = True
            self._render()

    def close_door(self) -> None:
        with self._lock:
            self._door_open = False
            self._render()

    def slot_count(self, slot: int) -> int:
        with self._lock:
            return int(self._value("slot_count", self._slot(slot)))

    def is_unlocked(self, slot: int) -> bool:
        with self._lock:
            self._advance()
            return self._unlocked_until[self._slot(slot)] is not None

    def drawer_is_open(self, slot: int) -> bool:
        with self._lock:
            return self._drawer_open[self._slot(slot)]

    # --- climate -----------------------------------------------------------------------------

    def push_temperature(self, compartment: str, celsius: float) -> None:
        """Hold the compartment at ``celsius`` (a fridge door left open, a failed compressor)."""
        with self._lock:
            i = self._compartment(compartment)
            self._held[i] = celsius
            self._temperature[i] = celsius
            self._render()

    def release_temperature(self, compartment: str) -> None:
        """Let the compartment drift back to its target."""
        with self._lock:
            self._held[self._compartment(compartment)] = None

    def temperature(self, compartment: str) -> float:
        with self._lock:
            return self._temperature[self._compartment(compartment)]

    # --- faults ------------------------------------------------------------------------------

    def drop_responses(self, count: int | None = None) -> None:
        """Leave the next ``count`` requests unanswered (None: every request until ``clear_faults``)."""
        with self._lock:
            self._drop_left = count

    def answer_with_exception(self, code: int, count: int | None = None) -> None:
        """Answer the next ``count`` requests with Modbus exception ``code`` (None: until cleared)."""
        with self._lock:
            self._exception = (code, count)

    def stick_lock(self, slot: int) -> None:
        """The slot's solenoid jams: setting its coil no longer releases it."""
        with self._lock:
            self._stuck[self._slot(slot)] = True

    def fail_sensor(self, compartment: str) -> None:
        """The compartment's probe breaks: it reads far out of range and the fault code says so."""
        with self._lock:
            self._sensor_failed[self._compartment(compartment)] = True
            self._fault_code = FAULT_SENSOR
            self._render()

    def power_off(self) -> None:
        """Mains lost: no answers, and every lock drops to locked (coils are volatile)."""
        with self._lock:
            self._powered = False
            self._unlocked_until = [None for _ in self._unlocked_until]
            self._image[Table.COILS] = dict.fromkeys(self._image[Table.COILS], 0)
            self._render()

    def power_on(self) -> None:
        """Power returns: coils start cleared, holding registers (counts, mailbox) are as they were."""
        with self._lock:
            self._powered = True
            self._last_tick = self._clock()

    def clear_faults(self) -> None:
        with self._lock:
            self._drop_left = 0
            self._exception = None
            self._stuck = [False for _ in self._stuck]
            self._sensor_failed = [False for _ in self._sensor_failed]
            self._fault_code = FAULT_NONE
            self._render()

    def clear_served(self) -> None:
        with self._lock:
            self.served.clear()
            self.ignored = 0

    # --- the controller's side: called by the Modbus server ----------------------------------

    def answers(self) -> bool:
        """Whether the controller answers the request now arriving (consumes one dropped answer)."""
        with self._lock:
            if not self._powered or self._drop_left is None:
                self.ignored += 1
                return False
            if self._drop_left > 0:
                self._drop_left -= 1
                self.ignored += 1
                return False
            return True

    def read(self, function_code: int, address: int, count: int) -> list[int] | int:
        """The values of a read request, or a Modbus exception code."""
        table = Table(function_code)
        with self._lock:
            self._advance()
            fault = self._take_exception()
            if fault is None:
                values = [self._image[table].get(a) for a in range(address, address + count)]
                fault = EXCEPTION_ILLEGAL_ADDRESS if None in values else None
            self._served(ServedRequest(function_code, address, count, fault))
            if fault is not None:
                return fault
            return [int(value or 0) for value in values]

    def write(self, function_code: int, table: Table, address: int, values: list[int]) -> int | None:
        """Apply a write request; None when done, else a Modbus exception code."""
        with self._lock:
            self._advance()
            fault = self._take_exception()
            span = range(address, address + len(values))
            if fault is None and any(a not in self._image[table] for a in span):
                fault = EXCEPTION_ILLEGAL_ADDRESS
            self._served(ServedRequest(function_code, address, len(values), fault))
            if fault is not None:
                return fault
            for a, value in zip(span, values, strict=True):
                self._image[table][a] = int(value)
            if table is Table.COILS:
                self._coils_written(span)
            else:
                self._holding_written(span)
            self._render()
            return None

    def peek(self, table: Table, address: int) -> int:
        """One value of the register image, without it counting as a request."""
        with self._lock:
            return self._image[table].get(address, 0)

    def tick(self) -> None:
        """Advance time: relock expired locks, let the resident act, drift temperatures."""
        with self._lock:
            self._advance()

    # --- internals ---------------------------------------------------------------------------

    def _served(self, request: ServedRequest) -> None:
        self.served.append(request)
        self.answered += 1

    def _take_exception(self) -> int | None:
        if self._exception is None:
            return None
        code, left = self._exception
        if left is not None:
            self._exception = (code, left - 1) if left > 1 else None
        return code

    def _coils_written(self, span: range) -> None:
        now = self._clock()
        for i in range(self.profile.slots):
            address = self._by_key["drawer_unlock", i].address
            if address not in span:
                continue
            wanted = bool(self._image[Table.COILS][address])
            if wanted and not self._stuck[i]:
                if self._unlocked_until[i] is None:
                    self._resident_served[i] = False
                self._unlocked_until[i] = now + self.relock_after_s
            elif not wanted:
                self._unlocked_until[i] = None

    def _holding_written(self, span: range) -> None:
        id_point = self._by_key["command_id", 0]
        if not any(a in span for a in range(id_point.address, id_point.end)):
            return
        command_id = int(self._value("command_id", 0))
        if command_id == 0 or command_id == self._executed_command_id:
            return
        self._executed_command_id = command_id
        mailbox = self.profile.holding_registers.mailbox
        opcode = int(self._value("opcode", 0))
        argument = int(self._value("argument", 0))
        outcome = (
            mailbox.statuses["done"] if self._run_command(opcode, argument) else mailbox.statuses["rejected"]
        )
        self._set_value("status", 0, outcome)

    def _run_command(self, opcode: int, argument: int) -> bool:
        opcodes = self.profile.holding_registers.mailbox.opcodes
        if opcode == opcodes["unlock_slot"]:
            if not 1 <= argument <= self.profile.slots or self._stuck[argument - 1]:
                return False
            self._unlocked_until[argument - 1] = self._clock() + self.relock_after_s
            self._resident_served[argument - 1] = False
            return True
        if opcode == opcodes["buzz"]:
            if self.profile.coils.buzzer is None:
                return False
            self._image[Table.COILS][self._by_key["buzzer", 0].address] = 1
            return True
        if opcode == opcodes["clear_fault"]:
            self._fault_code = FAULT_NONE
            return True
        return False

    def _advance(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last_tick)
        self._last_tick = now
        for i, until in enumerate(self._unlocked_until):
            if until is not None and now >= until:
                self._unlocked_until[i] = None
        if self.resident_doses is not None:
            self._resident_acts()
        if elapsed > 0:
            self._drift(elapsed)
        self._render()

    def _resident_acts(self) -> None:
        for i, until in enumerate(self._unlocked_until):
            if until is None or self._resident_served[i] or self._drawer_open[i]:
                continue
            self._resident_served[i] = True
            left = int(self._value("slot_count", i))
            self._set_value("slot_count", i, max(0, left - (self.resident_doses or 0)))

    def _drift(self, elapsed: float) -> None:
        pull = 1.0 - math.exp(-elapsed / DRIFT_TIME_CONSTANT_S)
        for i, name in enumerate(self.profile.compartments):
            held = self._held[i]
            if held is not None:
                self._temperature[i] = held
                continue
            noise = self._rng.gauss(0.0, NOISE_C_PER_SQRT_S * math.sqrt(elapsed))
            self._temperature[i] += (self._target(name) - self._temperature[i]) * pull + noise

    def _render(self) -> None:
        """Write the state the master may only read (inputs, lock coils) into the register image."""
        for i in range(self.profile.slots):
            self._set_bit("drawer_unlock", i, self._unlocked_until[i] is not None)
            self._set_bit("drawer_open", i, self._drawer_open[i])
            self._set_bit("slot_occupied", i, self._value("slot_count", i) > 0)
        if ("door_open", 0) in self._by_key:
            self._set_bit("door_open", 0, self._door_open)
        for i in range(len(self.profile.compartments)):
            if self._sensor_failed[i]:
                self._set_value("temperature", i, self._out_of_range(self._by_key["temperature", i]))
            else:
                self._set_value("temperature", i, self._temperature[i])
            if ("humidity", i) in self._by_key:
                self._set_value("humidity", i, HUMIDITY_PCT)
        self._set_value("firmware_version", 0, self._firmware_version)
        self._set_value("fault_code", 0, self._fault_code)

    @staticmethod
    def _out_of_range(point: Point) -> float:
        if point.type == "float32" or point.type == "bool":
            return SENSOR_OUT_OF_RANGE_FLOAT_C
        return SENSOR_OUT_OF_RANGE_RAW[point.type] * point.scale

    def _set_bit(self, name: str, index: int, value: bool) -> None:
        self._image[self._by_key[name, index].table][self._by_key[name, index].address] = int(value)

    def _set_value(self, name: str, index: int, value: float) -> None:
        point = self._by_key[name, index]
        assert point.type != "bool"
        words = encode(value, point.type, point.scale, self.profile.word_order, self.profile.byte_order)
        for offset, word in enumerate(words):
            self._image[point.table][point.address + offset] = word

    def _value(self, name: str, index: int) -> float:
        point = self._by_key[name, index]
        assert point.type != "bool"
        words = [self._image[point.table][a] for a in range(point.address, point.end)]
        return decode(words, point.type, point.scale, self.profile.word_order, self.profile.byte_order)

    def _slot(self, slot: int) -> int:
        if not 1 <= slot <= self.profile.slots:
            raise ValueError(f"slot 1 to {self.profile.slots}, found {slot}")
        return slot - 1

    def _compartment(self, name: str) -> int:
        return self.profile.compartments.index(name)

    @staticmethod
    def _target(name: str) -> float:
        return FRIDGE_TARGET_C if name == "fridge" else AMBIENT_TARGET_C
