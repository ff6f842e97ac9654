"""Whatever arrives on a vitals topic, the validator returns an envelope or raises ``EnvelopeError``
with a documented reason and a position, and never echoes payload content in its message."""

from __future__ import annotations

import json
from typing import Any

from cloud_bridge_kit import PULSE, SITE, SYSTOLIC, envelope, vitals_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_bridge.validation import REJECT_REASONS, EnvelopeError, validate_envelope

MARKER = "Zhang-San-110105193706031172"
"""Planted in every fuzzed document: a rejection message must never contain it."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["v", "id", "seq", "boot", "site", "gateway", "device", "type", "measured_at", "subject", "obs"]


def _checked(payload: bytes) -> None:
    error: EnvelopeError | None = None
    try:
        accepted = validate_envelope(vitals_topic(), payload, SITE)
    except EnvelopeError as exc:
        error = exc
    if error is not None:
        assert error.reason in REJECT_REASONS
        assert error.position
        assert MARKER not in str(error)
    else:
        assert accepted.site == SITE


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=300))
def test_any_bytes_validate_or_raise_envelope_error(payload: bytes) -> None:
    _checked(payload)


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(FIELDS), value=json_values, extra=st.dictionaries(st.text(max_size=6), json_values)
)
def test_a_good_envelope_with_one_field_replaced_validates_or_raises_envelope_error(
    field: str, value: Any, extra: dict[str, Any]
) -> None:
    document = envelope((SYSTOLIC, 120), (PULSE, 70), subject=MARKER)
    document[field] = value
    document.update({key: MARKER for key in extra if key not in document})
    _checked(json.dumps(document).encode())


@settings(max_examples=100, deadline=None)
@given(observation=st.dictionaries(st.sampled_from(["code", "name", "value", "unit", "raw"]), json_values))
def test_any_observation_object_validates_or_raises_envelope_error(observation: dict[str, Any]) -> None:
    document = envelope((SYSTOLIC, 120), subject=MARKER)
    document["obs"].append(observation)
    _checked(json.dumps(document).encode())
