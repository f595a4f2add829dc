"""
Schemathesis against the live schema: every operation, with generated
requests both valid and invalid, must answer with no server error and
nothing outside its documented responses.

Driven through Hypothesis directly (Schemathesis' pytest plugin does not
load under this pytest); the number of cases is printed at the end.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = [pytest.mark.slow]

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES = 50  # per operation and per mode (valid, invalid)


def test_every_operation_answers_within_its_schema(db, settings, capsys):
    # A pool whose keys are never fetched: generated tokens are malformed,
    # so they are refused (401) before any key is needed.
    settings.COGNITO_USER_POOL_ID = "eu-west-2_Fuzz"
    settings.COGNITO_CLIENT_ID = "fuzz"
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    category = CategoryFactory(slug="shirts")
    VariantFactory(product=ProductFactory(slug="linen-shirt", category=category))
    # As Django's test client does: the test's transaction holds the
    # connection, so requests must not close it when they finish.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _run(capsys)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run(capsys):
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", get_wsgi_application()
    )
    cases, failures, operations = 0, [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                nonlocal cases
                cases += 1
                # The WSGI transport does not undo GZipMiddleware's encoding.
                response = case.call(headers={"Accept-Encoding": "identity"})
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (an operation without input)
            except (Exception, BaseExceptionGroup) as exc:  # every one is reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    with capsys.disabled():
        print(f"\nschemathesis: {cases} generated cases over {operations} operations")
    assert operations >= 18
    assert failures == [], "\n\n".join(failures)
