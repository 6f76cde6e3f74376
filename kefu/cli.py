"""The ``kefu`` console command: kefu's own commands (serve, demo, token, …) and Django's."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    from django.core.management import execute_from_command_line

    from kefu.core.context import RequestMeta, set_meta

    # Audit records written by commands say they came from the command line, and by whom.
    set_meta(RequestMeta(via="cli", user_agent=f"kefu {' '.join(sys.argv[1:2])}", ip=os.environ.get("SSH_CLIENT", "").split(" ")[0]))

    argv = sys.argv[:]
    argv[0] = "kefu"
    try:
        execute_from_command_line(argv)
    except Exception as exc:  # noqa: BLE001 — one case is told plainly, everything else re-raised
        from django.db import OperationalError, ProgrammingError

        if isinstance(exc, OperationalError | ProgrammingError) and _missing_table(exc):
            # A command run before the database was set up (`make run` migrates it): say so instead
            # of a traceback through Django's query code.
            sys.stderr.write(
                "kefu: 数据库尚未初始化（缺少数据表），请先运行 `make run` 或 `.venv/bin/kefu migrate`。\n"
                "kefu: the database is not set up (a table is missing): run `make run` or `.venv/bin/kefu migrate` first.\n"
                f"      ({exc})\n"
            )
            raise SystemExit(1) from None
        raise


def _missing_table(exc: Exception) -> bool:
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


if __name__ == "__main__":
    main()
