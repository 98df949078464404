"""The ``bidagent`` command line: parse, call a service, render. No business logic lives here.

Sub-command groups live in sibling modules and are registered in :mod:`bidagent.cli.app`.
Every command loads settings, opens the database and fails through :mod:`bidagent.cli.bootstrap`.
Exit codes: 0 ok, 1 problems found (invalid config, failing rules, refused action), 2 usage.
"""

from bidagent.cli.app import app, main

__all__ = ["app", "main"]
