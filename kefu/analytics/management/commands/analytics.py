"""``kefu analytics rebuild [--from YYYY-MM-DD] [--to YYYY-MM-DD]``: recompute the daily roll-ups from
raw data (issue #7). Without a range both roll-up tables are emptied and every record is counted again;
with one, the records created (orders, customers), started (contacts) or falling due (ticket-less return
visits) in the range are counted again by difference, so the rest of the table stays consistent."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{flag}: expected a date YYYY-MM-DD, got {value!r}") from None


class Command(BaseCommand):
    help = "Analytics roll-ups: `rebuild [--from D] [--to D]` recomputes them from raw data."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rb = sub.add_parser("rebuild", help="recompute the daily roll-ups from raw data")
        rb.add_argument("--from", dest="first", help="first day (YYYY-MM-DD)")
        rb.add_argument("--to", dest="last", help="last day (YYYY-MM-DD)")

    def handle(self, *args: Any, **opts: Any) -> None:
        from kefu.analytics.rollup import rebuild

        first, last = _day(opts.get("first"), "--from"), _day(opts.get("last"), "--to")
        if first and last and last < first:
            raise CommandError("--to must not be before --from")
        started = time.perf_counter()
        counts = rebuild(first=first, last=last)
        took = time.perf_counter() - started
        summary = " ".join(f"{k}={v}" for k, v in counts.items())
        self.stdout.write(f"analytics roll-up rebuilt ({summary}) in {took:.1f} s")
