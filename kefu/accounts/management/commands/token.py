"""kefu token create USERNAME [--name NAME] | kefu token revoke PREFIX | kefu token list [USERNAME]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kefu.accounts.models import ApiToken, User
from kefu.accounts.services import token_create, token_revoke
from kefu.core.errors import KefuError


class Command(BaseCommand):
    help = "Create, revoke and list API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="op", required=True)
        create = sub.add_parser("create", help="Create a token and print it (shown once).")
        create.add_argument("username")
        create.add_argument("--name", default="")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix (or the whole token).")
        revoke.add_argument("prefix")
        lst = sub.add_parser("list", help="List tokens (prefixes only).")
        lst.add_argument("username", nargs="?")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["op"] == "create":
                user = User.objects.filter(username=opts["username"]).first()
                if user is None:
                    raise CommandError(f"no user named {opts['username']!r}")
                _token, clear = token_create(user=user, name=opts["name"])
                self.stdout.write(clear)
            elif opts["op"] == "revoke":
                token = token_revoke(prefix=opts["prefix"])
                self.stdout.write(f"revoked {token.prefix} ({token.user.username})")
            else:
                qs = ApiToken.objects.select_related("user").order_by("id")
                if opts.get("username"):
                    qs = qs.filter(user__username=opts["username"])
                for t in qs:
                    state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
                    self.stdout.write(f"{t.prefix}\t{t.user.username}\t{t.name}\t{state}")
        except KefuError as e:
            raise CommandError(str(e.message)) from None
