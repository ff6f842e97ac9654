"""Decide whether one MQTT message is a storable envelope (DESIGN §3, §7): an observation on a
vitals topic, a ``call`` on a call topic, a ``cabinet_event`` on a cabinet event topic.

Every rejection is an ``EnvelopeError`` carrying a reason from ``REJECT_REASONS`` (the label
of the rejection counter) and the offending position. Neither ever contains payload content: a
payload may hold a resident's data.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal, get_args

from pydantic import ValidationError

from careedge_common import topics
from careedge_common.codes import BY_CODE
from careedge_common.envelope import Envelope, EnvelopeType

MAX_ENVELOPE_BYTES = 64 * 1024
"""Far above any real envelope (about 0.5 KiB with three observations); bounds parsing work."""

RejectReason = Literal[
    "too_large",
    "invalid_json",
    "unsupported_version",
    "schema",
    "wrong_type",
    "wrong_site",
    "topic_mismatch",
    "non_finite_value",
    "noncanonical_unit",
    "bad_state",
]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)


class EnvelopeError(Exception):
    """The message cannot be stored. ``position`` names where: a key path or a JSON line/column."""

    def __init__(self, reason: RejectReason, position: str, detail: str) -> None:
        super().__init__(f"{reason} at {position}: {detail}")
        self.reason: RejectReason = reason
        self.position = position
        self.detail = detail


def expected_type(topic: str) -> EnvelopeType:
    """The envelope type a topic carries (``.../call``, ``.../cabinet/{c}/event``, else vitals)."""
    if topic.endswith("/call"):
        return "call"
    if topic.endswith("/event") and "/cabinet/" in topic:
        return "cabinet_event"
    return "observation"


def topic_of(envelope: Envelope) -> str:
    if envelope.type == "call":
        return topics.call(envelope.site, envelope.gateway)
    if envelope.type == "cabinet_event":
        return topics.cabinet_event(envelope.site, envelope.gateway, envelope.device)
    return topics.vitals(envelope.site, envelope.gateway, envelope.device)


def validate_envelope(topic: str, payload: bytes, site: str) -> Envelope:
    """Parse and check one message received on a vitals, call or cabinet event topic of ``site``.

    Raises ``EnvelopeError``. Beyond the envelope schema, the type must be the topic's, the topic
    must name the envelope's own gateway and device (a gateway cannot publish readings as
    another; a cabinet event's device is the cabinet), values must be finite
    (line protocol cannot carry NaN or infinity), and known codes must use their canonical unit,
    because threshold rules are written in canonical units.
    """
    if len(payload) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError("too_large", "(payload)", f"{len(payload)} bytes > {MAX_ENVELOPE_BYTES}")
    try:
        envelope = Envelope.model_validate_json(payload)
    except ValidationError as exc:
        raise _rejection(exc, payload) from None
    wanted = expected_type(topic)
    if envelope.type != wanted:
        raise EnvelopeError("wrong_type", "type", f"{wanted!r} on this topic, found {envelope.type!r}")
    if envelope.site != site:
        raise EnvelopeError("wrong_site", "site", "the bridge's own site")
    if topic != topic_of(envelope):
        raise EnvelopeError("topic_mismatch", "gateway/device", "the gateway and device named in the topic")
    for index, observation in enumerate(envelope.obs):
        if not math.isfinite(observation.value):
            raise EnvelopeError("non_finite_value", f"obs[{index}].value", "a finite number")
        kind = BY_CODE.get(observation.code)
        if kind is not None and observation.unit != kind.unit:
            raise EnvelopeError("noncanonical_unit", f"obs[{index}].unit", f"{kind.unit!r} for {kind.code}")
    return envelope


def _rejection(exc: ValidationError, payload: bytes) -> EnvelopeError:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        return EnvelopeError("invalid_json", _json_position(str(first["msg"])), "well-formed JSON")
    for error in errors:
        if error["loc"] == ("v",):
            return EnvelopeError("unsupported_version", "v", "envelope version 1")
    return EnvelopeError("schema", _key_path(json.loads(payload), first["loc"]), str(first["msg"]))


def _json_position(message: str) -> str:
    """pydantic says 'Invalid JSON: <what> at line L column C'; keep the position only."""
    _, found, position = message.rpartition(" at ")
    return position if found else "(payload)"


def _key_path(document: Any, loc: tuple[int | str, ...]) -> str:
    """The JSON key path of a pydantic location, without the union member names pydantic adds
    (a name that is neither a key of the document nor the last, missing key, is such a tag)."""
    path = ""
    node = document
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
        elif isinstance(node, dict) and (part in node or index == len(loc) - 1):
            path += f".{part}" if path else part
            node = node.get(part)
    return path or "(root)"
