"""kefu demo [--if-empty] [--customers N] [--tickets N] [--seed N]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.accounts.models import User
from kefu.core.demo import load_demo, load_knowledge
from kefu.knowledge.models import KnowledgeItem


class Command(BaseCommand):
    help = "Load a believable demo telecom contact centre (users, customers, work orders)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any user exists.")
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--tickets", type=int, default=600)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--password", default=None, help="Password for every demo user (default: random).")
        parser.add_argument("--no-vectors", action="store_true",
                            help="Do not encode the knowledge base now (about a minute); `kefu kb vectors` does it later.")

    def handle(self, *args: Any, **opts: Any) -> None:
        vectors = not opts["no_vectors"]
        if opts["if_empty"] and User.objects.exists():
            admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
            if admin is not None and not KnowledgeItem.objects.exists():
                # An install from before the knowledge base: give it the demo base and the flows.
                items, done = load_knowledge(admin, vectors=vectors)
                self.stdout.write(f"demo knowledge base loaded: {items} items, {done} vectors")
            self.stdout.write("demo data already loaded")
            return
        result = load_demo(customers=opts["customers"], tickets=opts["tickets"], seed=opts["seed"], password=opts["password"],
                           vectors=vectors)
        self.stdout.write(
            f"demo loaded: {result.users} users, {result.customers} customers, {result.tickets} work orders, "
            f"{result.knowledge} knowledge items ({result.vectors} vectors); password for every demo user: {result.password}"
        )
