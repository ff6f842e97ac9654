"""Drive the simulated cabinet by typed lines (standard input of ``careedge sim cabinet``): a
person or a script plays the resident, the pharmacist and the faults while the edge polls.

One command per line, words separated by spaces: ``open_drawer 3``, ``take_doses 3 1``,
``close_drawer 3``, ``open_door``, ``close_door``, ``push_temperature fridge 12.5``,
``release_temperature fridge``, ``stick_lock 2``, ``fail_sensor fridge``, ``drop_responses``,
``answer_with_exception 6``, ``power_off``, ``power_on``, ``clear_faults``. Each line is answered
with one JSON line: ``{"event": "done", "command": ...}`` or ``{"event": "refused", ...}``.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware_sim.cabinet.model import CabinetModel, DrawerLocked

COMMANDS: dict[str, tuple[type, ...]] = {
    "open_drawer": (int,),
    "take_doses": (int, int),
    "close_drawer": (int,),
    "open_door": (),
    "close_door": (),
    "push_temperature": (str, float),
    "release_temperature": (str,),
    "stick_lock": (int,),
    "fail_sensor": (str,),
    "drop_responses": (),
    "answer_with_exception": (int,),
    "power_off": (),
    "power_on": (),
    "clear_faults": (),
}
"""Model methods a line may call, with the types of their arguments."""


def run_line(model: CabinetModel, line: str) -> dict[str, object]:
    """Apply one command line to the model; the JSON-able outcome (never raises for bad input)."""
    words = line.split()
    if not words:
        return {"event": "refused", "line": line, "reason": "empty line"}
    name, texts = words[0], words[1:]
    types = COMMANDS.get(name)
    if types is None:
        return {"event": "refused", "line": line, "reason": f"unknown command; one of {', '.join(COMMANDS)}"}
    if len(texts) != len(types):
        return {"event": "refused", "line": line, "reason": f"{name} takes {len(types)} argument(s)"}
    try:
        arguments = [kind(text) for kind, text in zip(types, texts, strict=True)]
        method: Callable[..., None] = getattr(model, name)
        method(*arguments)
    except (ValueError, DrawerLocked) as exc:
        return {"event": "refused", "line": line, "reason": str(exc)}
    return {"event": "done", "command": line.strip()}
