"""The console commands a user runs: tokens and demo data (X2, W1)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kefu.accounts.models import ApiToken, User
from kefu.accounts.services import token_authenticate

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_token_create_list_revoke(centre):
    clear = run("token", "create", "agent", "--name", "CTI")
    assert clear.startswith("kf_") and token_authenticate(clear) == centre["users"]["agent"]
    prefix = clear.split("_")[1]
    listing = run("token", "list", "agent")
    assert prefix in listing and "CTI" in listing and clear not in listing
    assert "revoked" in run("token", "revoke", prefix)
    assert token_authenticate(clear) is None
    assert "revoked" in run("token", "list")


def test_token_commands_refuse_unknown_users_and_prefixes(centre):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run("token", "create", "ghost")
    with pytest.raises(CommandError):
        run("token", "revoke", "ffffffff")
    centre["users"]["agent2"].is_active = False
    centre["users"]["agent2"].save()
    with pytest.raises(CommandError):
        run("token", "create", "agent2")
    assert ApiToken.objects.count() == 0


def test_demo_builds_a_believable_centre_through_the_services(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = run("demo", "--customers", "25", "--tickets", "40", "--password", "demo-pass-2026", "--no-vectors")
    assert "40 work orders" in out
    from kefu.tickets.models import Ticket, TicketEvent

    assert Ticket.objects.count() == 40 and TicketEvent.objects.count() > 40
    assert {t for t, in Ticket.objects.values_list("type").distinct()} >= {"fault", "complaint"}
    assert User.objects.get(username="kefu01").agent_id == "1001"
    assert User.objects.get(username="kefu01").check_password("demo-pass-2026")
    assert "demo-pass-2026" in (tmp_path / "demo_credentials.txt").read_text()
    # Numbers carry the (back-dated) creation day.
    for t in Ticket.objects.all()[:10]:
        from django.utils import timezone

        assert t.number[2:10] == f"{timezone.localdate(t.created_at):%Y%m%d}"
    assert "already loaded" in run("demo", "--if-empty")


@pytest.mark.django_db(databases=[])
def test_a_command_before_the_database_is_set_up_says_so(tmp_path):
    """`kefu kb export` on a database nobody migrated: a plain message naming the fix, exit 1, no
    traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["KEFU_VAR_DIR"] = str(tmp_path)
    kefu = Path(sys.executable).with_name("kefu")
    r = subprocess.run([str(kefu), "kb", "export"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "数据库尚未初始化" in r.stderr and "kefu migrate" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
