"""kefu kb import FILE.jsonl — import FAQ items (all or nothing; bad lines reported by number);
kefu kb export [FILE.jsonl] — the published items in the same format; kefu kb vectors;
kefu kb vocabulary FILE.txt — load the centre's synonym groups, corrections and ignorable words (synonyms.txt format)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kefu.accounts.models import Role, User
from kefu.core.errors import KefuError
from kefu.knowledge.services import ImportFailed, kb_export, kb_import, vocabulary_import


class Command(BaseCommand):
    help = "Knowledge base: import FAQ items from a JSON-lines file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="op", required=True)
        imp = sub.add_parser("import", help="import FILE.jsonl: id, question, answer, category?, similar_questions?")
        imp.add_argument("file")
        imp.add_argument("--as", dest="username", default=None, help="the importing user (default: first administrator)")
        exp = sub.add_parser("export", help="write the published items as JSON lines (the import format) to FILE or stdout")
        exp.add_argument("file", nargs="?", default="-")
        exp.add_argument("--audience", choices=["public", "internal"], default=None)
        exp.add_argument("--category", default=None, help="this category and the ones under it, e.g. 宽带")
        exp.add_argument("--as", dest="username", default=None, help="the exporting user (default: first administrator)")
        sub.add_parser("vectors", help="compute the stored vectors of published items that have none (the background job)")
        voc = sub.add_parser("vocabulary", help="load synonym groups (words separated by spaces), corrections (A -> B) and "
                                                "ignorable words (! A B), one a line, into the search vocabulary "
                                                "(all or nothing)")
        voc.add_argument("file")
        voc.add_argument("--as", dest="username", default=None, help="the acting user (default: first administrator)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["op"] == "vectors":
            import time

            from kefu.knowledge.search import compute_vectors

            t0 = time.perf_counter()
            n = compute_vectors()
            self.stdout.write(f"computed vectors of {n} item versions in {time.perf_counter() - t0:.1f}s")
            return
        actor = self._actor(opts["username"])
        if opts["op"] == "export":
            self._export(actor, opts)
            return
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        if opts["op"] == "vocabulary":
            self._vocabulary(actor, path)
            return
        result = self._load(path, lambda fh: kb_import(actor=actor, lines=fh), "nothing was imported")
        for note in result.ignored_notes():
            self.stderr.write(f"{path}: {note}")
        self.stdout.write(f"imported {path}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged")

    def _actor(self, username: str | None) -> User:
        if username:
            actor = User.objects.filter(username=username).first()
            if actor is None:
                raise CommandError(f"no such user: {username}")
            return actor
        actor = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first() or \
            User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if actor is None:
            raise CommandError("no acting user: create an administrator or pass --as USERNAME")
        return actor

    def _load(self, path: Path, run: Callable[[Any], Any], nothing: str) -> Any:
        """``run`` over the opened file; its bad lines as ``FILE:LINE: reason`` on stderr."""
        try:
            with path.open("rb") as fh:
                return run(fh)
        except ImportFailed as e:
            for n, reason in e.lines:
                self.stderr.write(f"{path}:{n}: {reason}")
            raise CommandError(f"{len(e.lines)} bad lines; {nothing}") from None
        except KefuError as e:
            raise CommandError(str(e.message)) from None

    def _vocabulary(self, actor: User, path: Path) -> None:
        added, unchanged = self._load(path, lambda fh: vocabulary_import(actor=actor, lines=fh), "nothing was added")
        self.stdout.write(f"vocabulary {path}: {added} added, {unchanged} already there")

    def _export(self, actor: User, opts: dict[str, Any]) -> None:
        try:
            lines = kb_export(actor=actor, audience=opts["audience"], category=opts["category"])
        except KefuError as e:
            raise CommandError(str(e.message)) from None
        text = "".join(line + "\n" for line in lines)
        if opts["file"] == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(opts["file"])
        tmp = path.with_name(path.name + ".part")  # a reader never sees half a file
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as e:
            raise CommandError(f"cannot write {path}: {e.strerror}") from None
        self.stderr.write(f"exported {len(lines)} items to {path}")
