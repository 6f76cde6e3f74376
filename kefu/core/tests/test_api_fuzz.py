"""Property-based fuzzing of the whole HTTP API from its own OpenAPI spec (schemathesis): whatever
is sent — wrong types, huge strings, odd unicode, unknown ids — the answer is never a 500 and always
the one error shape (issue #2, Bad input)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from kefu.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def token(centre, customer):  # type: ignore[no-untyped-def]
    # Requests go through the raw WSGI app: keep Django from closing the test's connection after each
    # one (its test client does the same).
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    from kefu.accounts.services import token_create
    from kefu.tickets.services import ticket_create

    ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject="宽带断网")
    yield token_create(user=centre["users"]["agent"])[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_fails_with_500(case, token):  # type: ignore[no-untyped-def]
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        body = json.loads(response.text)
        assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
