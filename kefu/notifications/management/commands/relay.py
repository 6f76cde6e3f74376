"""kefu relay: publish committed outbox events to the broker (issue #4). Run one or more."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.core import relay


class Command(BaseCommand):
    help = "Relay outbox events to the broker (loops; --once drains what is there and exits)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["once"]:
            total = 0
            while n := relay.relay_batch():
                total += n
            self.stdout.write(f"published {total} events\n")
            return
        relay.run_forever()
