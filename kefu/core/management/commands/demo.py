"""kefu demo [--if-empty] [--customers N] [--tickets N] [--seed N]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.accounts.models import User
from kefu.core.demo import load_demo


class Command(BaseCommand):
    help = "Load a believable demo telecom contact centre (users, customers, work orders)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any user exists.")
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--tickets", type=int, default=600)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--password", default=None, help="Password for every demo user (default: random).")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["if_empty"] and User.objects.exists():
            self.stdout.write("demo data already loaded")
            return
        result = load_demo(customers=opts["customers"], tickets=opts["tickets"], seed=opts["seed"], password=opts["password"])
        self.stdout.write(
            f"demo loaded: {result.users} users, {result.customers} customers, {result.tickets} work orders; "
            f"password for every demo user: {result.password}"
        )
