"""Login, lock-out, idle timeout and role-based navigation (X2)."""

from __future__ import annotations

import time

import pytest

from kefu.audit.models import AuditRecord
from kefu.web.models import LoginAttempt

PW = "x-Strong-pass-2026"


def test_login_page_and_success(client, centre):
    r = client.get("/w/")
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=/w/")
    r = client.get("/login/")
    assert r.status_code == 200
    html = r.content.decode()
    assert '<label for="id_username">' in html and 'lang="zh-hans"' in html and "登录" in html
    r = client.post("/login/", {"username": "agent", "password": PW, "next": "/w/"})
    assert r.status_code == 302 and r["Location"] == "/w/"
    assert AuditRecord.objects.filter(action="auth.login").count() == 1


def test_wrong_password_keeps_user_name(client, centre):
    r = client.post("/login/", {"username": "agent", "password": "nope"})
    assert r.status_code == 401
    html = r.content.decode()
    assert "用户名或密码错误" in html and 'value="agent"' in html


def test_empty_fields(client, centre):
    r = client.post("/login/", {"username": "", "password": ""})
    assert r.status_code == 422 and "请输入用户名和密码" in r.content.decode()


def test_open_redirect_refused(client, centre):
    r = client.post("/login/", {"username": "agent", "password": PW, "next": "https://evil.example/"})
    assert r["Location"] == "/w/"


def test_lockout_after_five_failures_even_with_right_password(client, centre, settings):
    for _ in range(4):
        assert client.post("/login/", {"username": "agent", "password": "bad"}).status_code == 401
    r = client.post("/login/", {"username": "agent", "password": "bad"})
    assert r.status_code == 429 and "锁定" in r.content.decode()
    r = client.post("/login/", {"username": "agent", "password": PW})
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditRecord.objects.filter(action="auth.login_failed").count() == 4
    assert AuditRecord.objects.filter(action="auth.locked", object_id="agent").count() == 1
    # Another user is not affected.
    assert client.post("/login/", {"username": "agent2", "password": PW}).status_code == 302


def test_lock_expires_after_window(client, centre):
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(5):
        client.post("/login/", {"username": "agent", "password": "bad"})
    LoginAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert client.post("/login/", {"username": "agent", "password": PW}).status_code == 302


def test_idle_timeout_logs_out(client, centre, settings):
    client.force_login(centre["users"]["agent"])
    assert client.get("/w/").status_code == 200
    s = client.session
    s["kefu_seen"] = int(time.time()) - settings.KEFU_SESSION_IDLE_MINUTES * 60 - 5
    s.save()
    r = client.get("/w/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert "不活动" in client.get(r["Location"]).content.decode()


@pytest.mark.parametrize(
    ("name", "board", "call"),
    [("agent", False, True), ("lead", True, True), ("supervisor", True, True), ("auditor", False, False)],
)
def test_role_navigation(client, centre, name, board, call):
    client.force_login(centre["users"][name])
    html = client.get("/w/").content.decode()
    assert ('href="/w/board/"' in html) is board
    assert ('href="/w/call/"' in html) is call
    assert client.get("/w/board/").status_code == (200 if board else 403)
    assert client.get("/w/call/").status_code == (200 if call else 403)


def test_english_switch(client, centre):
    client.force_login(centre["users"]["agent"])
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/w/"})
    assert r.status_code == 302
    html = client.get("/w/").content.decode()
    assert 'lang="en"' in html and "Work orders" in html and "Take a call" in html
