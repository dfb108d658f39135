"""Property-based run of schemathesis against the live schema of a real server
(pytest-django's live_server, a real HTTP server thread on the test database): for every
operation, schema-valid and schema-invalid requests, as a client with the permission and as
an anonymous one. No 500s, and every status code, content type and body is the one the schema
documents. Bounded (a few examples per operation and mode) to stay near a minute.

Schemathesis' own pytest integration does not run on pytest 9 yet, so the operations'
Hypothesis strategies are driven directly (its documented ``as_strategy`` API).
"""
from __future__ import annotations

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.django_db(transaction=True)
def test_the_live_api_never_answers_500_and_keeps_to_its_schema(live_server, catalogue, requester, redis_conn):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=requester).key
    # Unthrottled, so POST jobs/ is exercised fully rather than answering 429.
    with override_settings(IMAGEGEN={"API_REQUEST_RATE": None, "API_SOURCE_VISIBILITY": "shop.catalogue.api.visible_sources"}):
        schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 9  # 8 paths, jobs/ with GET and POST
        ran: dict[str, int] = {}
        for operation in operations:
            for mode in MODES:
                if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET" and not operation.query and not operation.path_parameters:
                    continue  # nothing to make invalid

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
                def exercise(case) -> None:
                    for headers in ({"Authorization": f"Token {token}"}, {}):
                        case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)
                    ran[operation.label] = ran.get(operation.label, 0) + 1

                exercise()
        assert set(ran) == {op.label for op in operations}
