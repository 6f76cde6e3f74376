"""Test-wide fixtures: a small centre (teams, departments, users of every role), a customer, and an
API client that authenticates with a real token."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

# kefu/wsgi.py (imported by the API fuzzing tests) would start a web worker's index loader thread,
# which reads through a connection of its own — outside the test's transaction. Tests load the index
# in the calling thread; the loader has a test of its own (test_index.py).
os.environ["KEFU_KB_WARM"] = "0"

# Property tests explore the same examples on every run, so CI cannot go red by chance; run with
# HYPOTHESIS_PROFILE=explore to search new ones.
hypothesis_settings.register_profile("kefu", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "kefu"))


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    """A transactional test (browser tests, concurrency) ends with a flush of every table, which would
    also remove the rows the data migrations seed (SLA policies, categories, the default rule set,
    flows) from every test that runs after it. Restore them: serialized rollback for all of them."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            # prepended: the closest marker wins, and a test's own decorator comes first among its own
            item.add_marker(pytest.mark.django_db(*marker.args, **{**marker.kwargs, "serialized_rollback": True}), append=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):  # type: ignore[no-untyped-def]
    """Connections are per context, and Playwright's sync API runs the browser tests in contexts of its
    own, whose connection objects never saw the snapshot taken at set-up: hand it to every one."""
    from django.db import connections

    for conn in connections.all():
        contents = getattr(conn, "_test_serialized_contents", None)
        if contents is not None:
            type(conn)._test_serialized_contents = contents
    yield


@pytest.fixture(autouse=True)
def _test_settings(tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real hashing costs ~0.3 s a user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from kefu.tickets import sla

    sla.clear_cache()  # policies and holidays are cached per process; tests edit them


class Api:
    """A JSON client for /api/v1 acting as one user (Bearer token)."""

    def __init__(self, token: str | None, lang: str = "zh-hans") -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": lang}
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, data: Any = None, raw: bytes | str | None = None) -> Any:
        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.post(f"/api/v1{path}", body, content_type="application/json", **self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", **self.headers)

    def upload(self, path: str, name: str, content: bytes, content_type: str) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        f = SimpleUploadedFile(name, content, content_type=content_type)
        return self.client.post(f"/api/v1{path}", {"file": f}, **self.headers)


@pytest.fixture
def centre(db):  # type: ignore[no-untyped-def]
    from kefu.accounts.models import Department, Role, Team, User

    network = Department.objects.create(code="network", name="网络维护部")
    billing = Department.objects.create(code="billing", name="计费部")
    t1 = Team.objects.create(name="热线一班")
    t2 = Team.objects.create(name="热线二班")

    def mk(username: str, role: str, agent_id: str | None = None, **kw: Any) -> User:
        u = User.objects.create_user(username=username, password="x-Strong-pass-2026", role=role, agent_id=agent_id,
                                     display_name=username, **kw)
        return u

    users = {
        "agent": mk("agent", Role.AGENT, "1001", team=t1),
        "agent2": mk("agent2", Role.AGENT, "1002", team=t1),
        "other": mk("other", Role.AGENT, "2001", team=t2),
        "lead": mk("lead", Role.TEAM_LEAD, "8001", team=t1),
        "supervisor": mk("supervisor", Role.SUPERVISOR, "9001"),
        "inspector": mk("inspector", Role.INSPECTOR, "9101"),
        "auditor": mk("auditor", Role.AUDITOR, "9201"),
        "admin": mk("admin", Role.ADMIN, None, is_superuser=True, is_staff=True),
        "network": mk("net", Role.AGENT, "5001", department=network),
    }
    return {"users": users, "departments": {"network": network, "billing": billing}, "teams": [t1, t2]}


@pytest.fixture
def customer(centre):  # type: ignore[no-untyped-def]
    from kefu.customers.services import customer_create

    return customer_create(
        actor=centre["users"]["supervisor"], name="张三丰", phones=["+86 138-0013-8000"], id_number="110101199003071234",
        province="广东", city="广州", address="广东省广州市天河区中山大道100号", star_level=3,
        services=[
            {"kind": "mobile", "identifier": "13800138000", "plan": "5G畅享129元套餐"},
            {"kind": "broadband", "identifier": "AD000123456", "plan": "300M宽带"},
        ],
    )


@pytest.fixture
def api_for(centre):  # type: ignore[no-untyped-def]
    from kefu.accounts.services import token_create

    def make(name: str, lang: str = "zh-hans") -> Api:
        _t, clear = token_create(user=centre["users"][name])
        return Api(clear, lang)

    return make


@pytest.fixture(autouse=True)
def _clear_cache():  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()  # rate limits live in the cache
    yield
    cache.clear()


@pytest.fixture
def make_ticket(centre, customer):  # type: ignore[no-untyped-def]
    from kefu.tickets.services import ticket_create

    def make(actor: str = "agent", **kw: Any):  # type: ignore[no-untyped-def]
        fields = {"type": "fault", "priority": "high", "customer_id": customer.pk, "subject": "宽带无法上网",
                  "description": "光猫LOS灯红灯闪烁", "contact_phone": "13800138000"}
        fields.update(kw)
        return ticket_create(actor=centre["users"][actor], **fields)

    return make


@pytest.fixture
def web_client(client, centre):  # type: ignore[no-untyped-def]
    def as_user(name: str):  # type: ignore[no-untyped-def]
        client.force_login(centre["users"][name])
        return client

    return as_user
