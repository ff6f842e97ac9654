"""The schemathesis runs of the edge and bridge APIs: every operation of an app's own OpenAPI,
bounded examples, called as an admin, with the same checks for both apps."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
from schemathesis.core.result import Err
from schemathesis.schemas import BaseSchema

BOUNDED = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
"""25 examples per operation keeps each run to seconds; derandomised so a failure repeats."""
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
"""No 5xx and responses as documented. Status codes the schema does not list (401, 403, 404,
409, 413, 422, 429) are the APIs' documented refusals, so status-code conformance is not asked."""


def fuzz_operations(schema: BaseSchema, token: str, base_url: str | None = None) -> list[str]:
    """Runs every operation; returns their labels (so a test can see none was skipped)."""
    headers = {"Authorization": f"Bearer {token}"}
    labels = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()

        @given(case=operation.as_strategy())
        @BOUNDED
        def call(case: Case[Any]) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        call()
        labels.append(operation.label)
    return labels
