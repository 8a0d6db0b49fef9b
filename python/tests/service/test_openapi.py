"""The service's OpenAPI schema holds for any input (fuzzed)."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sqlrec.config import Settings
from sqlrec.service.app import create_app

from service_tables import ADMIN_TOKEN


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid-inputs", "invalid-inputs"])
def test_openapi_schema_holds_for_any_input(loaded_store, mode):
    """No 5xx, and every answer as documented (status, content type, body schema)."""
    settings = Settings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
    app = create_app(settings, store=loaded_store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]

    @hypothesis.given(case=schema.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(checks=checks)

    answers_as_documented()
