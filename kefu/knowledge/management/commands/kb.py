"""kefu kb import FILE.jsonl — import FAQ items (all or nothing; bad lines reported by number)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kefu.accounts.models import Role, User
from kefu.core.errors import KefuError
from kefu.knowledge.services import ImportFailed, kb_import


class Command(BaseCommand):
    help = "Knowledge base: import FAQ items from a JSON-lines file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="op", required=True)
        imp = sub.add_parser("import", help="import FILE.jsonl: id, question, answer, category?, similar_questions?")
        imp.add_argument("file")
        imp.add_argument("--as", dest="username", default=None, help="the importing user (default: first administrator)")
        sub.add_parser("vectors", help="compute the stored vectors of published items that have none (the background job)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["op"] == "vectors":
            import time

            from kefu.knowledge.search import compute_vectors

            t0 = time.perf_counter()
            n = compute_vectors()
            self.stdout.write(f"computed vectors of {n} item versions in {time.perf_counter() - t0:.1f}s")
            return
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        if opts["username"]:
            actor = User.objects.filter(username=opts["username"]).first()
        else:
            actor = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first() or \
                User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if actor is None:
            raise CommandError("no importing user: create an administrator or pass --as USERNAME")
        try:
            with path.open("rb") as fh:
                result = kb_import(actor=actor, lines=fh)
        except ImportFailed as e:
            for n, reason in e.lines:
                self.stderr.write(f"{path}:{n}: {reason}")
            raise CommandError(f"{len(e.lines)} bad lines; nothing was imported") from None
        except KefuError as e:
            raise CommandError(str(e.message)) from None
        for note in result.ignored_notes():
            self.stderr.write(f"{path}: {note}")
        self.stdout.write(f"imported {path}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged")
