"""Schemathesis against ``/openapi.json`` of a real relay: whatever it sends, within the
schema or not, no answer is a 5xx and every answer matches what the schema says of it.

Each operation is driven by its own Hypothesis strategy here (schemathesis' pytest plugin
does not run on this pytest), so one failing operation does not hide the others.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from _relay import RelayProcess as Relay
from _relay import running
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Err

from relay.openapi import OPENAPI

# Derandomized: the same cases at every run, so CI does not fail at random (run with
# other seeds by hand to look further).
EXAMPLES = 60


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with running(tmp_path_factory) as server:  # SQLite: the schema does not depend on it
        yield server


def test_no_request_gets_a_5xx_or_an_answer_off_its_schema(relay: Relay) -> None:
    schema = schemathesis.openapi.from_url(f"{relay.url}/openapi.json")
    assert schema.raw_schema == OPENAPI  # the relay serves the schema the code declares
    headers = {"Authorization": f"Bearer {relay.token('root', 'acme', 'admin')}"}
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation the schema describes wrongly
            failures[str(result.err())[:200]] = "invalid in the schema"
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=relay.url, headers=headers)
            case.validate_response(response)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            failures[operation.label] = str(exc)[:2000]
    assert relay.running
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
