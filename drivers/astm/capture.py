"""Messages in a file, as a technician hands one in: a capture of the analyzer's side of the line, or
records typed one per line.

A capture (any file holding STX or ENQ) is replayed through the same receiver the driver uses,
answering every complete message at once; a bad frame is dropped as it would be live, and the
analyzer's retransmission that follows it in the capture is taken instead. A capture without the
ENQ (frames from frame 1 on) is read as if one came first.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from drivers.astm.frames import ENQ, EOT, STX
from drivers.astm.link import AstmReceiver, LinkProblem, LinkTimeouts, MessageReceived
from drivers.astm.message import describe, parse_message, split_messages
from drivers.astm.vocabulary import Analytes

_NEVER = LinkTimeouts(frame_s=math.inf, verdict_s=math.inf, busy_s=0.0)
"""A file has no clock: nothing times out and nothing is ever busy."""
_CLOCK = 0.0


@dataclass(frozen=True, slots=True)
class Capture:
    messages: tuple[tuple[bytes, ...], ...]
    """Each message's records in order, without their CR."""
    problems: tuple[LinkProblem, ...]
    """What the receiver refused on the way (bad frames, noise); empty for typed records."""


def read_capture(data: bytes) -> Capture:
    """The complete messages in ``data``; records not followed by their L record are left out."""
    if STX not in data and ENQ not in data:
        return Capture(tuple(tuple(message) for message in split_messages(data)), ())
    receiver = AstmReceiver(_NEVER)
    opening = b"" if ENQ in data else bytes([ENQ])
    events = deque(receiver.receive(opening + data + bytes([EOT]), _CLOCK))
    messages: list[tuple[bytes, ...]] = []
    problems: list[LinkProblem] = []
    while events:
        event = events.popleft()
        if isinstance(event, MessageReceived):
            messages.append(event.records)
            receiver.accept(event.hold, _CLOCK)
            events.extend(receiver.receive(b"", _CLOCK))
        elif isinstance(event, LinkProblem):
            problems.append(event)
    return Capture(tuple(messages), tuple(problems))


def describe_capture(data: bytes, *, timezone: ZoneInfo, analytes: Analytes) -> dict[str, Any]:
    """Every message of a file decoded for people (``careedge decode astm``), and what the link
    refused on the way. Raises ``AstmError`` for the first message whose structure is unusable.
    Patient identifiers are never pseudonymised here (no site secret), and never printed."""
    capture = read_capture(data)
    return {
        "messages": [
            describe(parse_message(records, timezone=timezone, pseudonymiser=None, analytes=analytes))
            for records in capture.messages
        ],
        "link": [{"reason": str(problem.reason), "detail": problem.detail} for problem in capture.problems],
    }
