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
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
