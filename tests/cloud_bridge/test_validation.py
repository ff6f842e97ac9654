"""Each rejection reason, with the position it names; payload content never appears in it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cloud_bridge_kit import PULSE, SITE, SYSTOLIC, envelope, vitals_topic

from cloud_bridge.validation import MAX_ENVELOPE_BYTES, EnvelopeError, validate_envelope


def _rejected(payload: bytes, topic: str | None = None) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        validate_envelope(topic or vitals_topic(), payload, SITE)
    return caught.value


def _encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_valid_envelope_is_returned_with_utc_time() -> None:
    document = envelope((SYSTOLIC, 121), (PULSE, 64.0))
    parsed = validate_envelope(vitals_topic(), _encoded(document), SITE)
    assert [(o.code, o.value) for o in parsed.obs] == [("8480-6", 121), ("8867-4", 64.0)]
    assert parsed.measured_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("payload", "reason", "position"),
    [
        (b'{"v": 1, "id": ', "invalid_json", "line 1 column 15"),
        (b"\xff\xfe", "invalid_json", "line 1 column 1"),
        (_encoded(envelope((SYSTOLIC, 120), v=2)), "unsupported_version", "v"),
        (_encoded(envelope((SYSTOLIC, "120"))), "schema", "obs[0].value"),
        (_encoded({**envelope((SYSTOLIC, 120)), "patient_name": "x"}), "schema", "patient_name"),
        (_encoded(envelope((SYSTOLIC, 120), type="call")), "wrong_type", "type"),
        (_encoded(envelope((SYSTOLIC, 120), site="other-site")), "wrong_site", "site"),
        (_encoded(envelope((SYSTOLIC, 120), device="kiosk-2")), "topic_mismatch", "gateway/device"),
        (_encoded(envelope((SYSTOLIC, 120), (PULSE, 1e400))), "non_finite_value", "obs[1].value"),
        (_encoded(envelope(({**SYSTOLIC, "unit": "kPa"}, 16.0))), "noncanonical_unit", "obs[0].unit"),
        (b" " * (MAX_ENVELOPE_BYTES + 1), "too_large", "(payload)"),
    ],
)
def test_rejection_names_reason_and_position(payload: bytes, reason: str, position: str) -> None:
    error = _rejected(payload)
    assert (error.reason, error.position) == (reason, position)


def test_nan_literal_is_rejected_as_non_finite() -> None:
    payload = _encoded(envelope((SYSTOLIC, 120))).replace(b'"value": 120', b'"value": NaN')
    assert _rejected(payload).reason == "non_finite_value"


def test_rejection_never_quotes_the_payload() -> None:
    document = envelope((SYSTOLIC, "secret-name-Alice"))
    error = _rejected(_encoded(document))
    assert "Alice" not in str(error)


def test_unknown_code_in_any_unit_is_accepted() -> None:
    document = envelope(({"code": "99999-9", "name": "Vendor score", "unit": "{score}"}, 3))
    assert validate_envelope(vitals_topic(), _encoded(document), SITE).obs[0].unit == "{score}"
