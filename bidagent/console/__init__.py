"""The web console: a FastAPI app with server-rendered pages where people oversee the agent.

Modules, one job each: :mod:`.app` (assembly: middleware, errors, routers), :mod:`.server`
(state from settings, uvicorn beside the daemon or alone, the one-time login URL), :mod:`.state`
(the handles routes use), :mod:`.auth` (principals: password sessions, the bootstrap token,
proxy mode, API tokens), :mod:`.sessions` (the signed cookie and its CSRF token), :mod:`.deps`
(FastAPI dependencies: roles, CSRF), :mod:`.ratelimit` (sign-in attempts), :mod:`.passwords`
(argon2, token hashes), :mod:`.users` (``bidagent users``), :mod:`.metrics` (Prometheus),
:mod:`.render` (templates and filters), :mod:`.change_rows` (a change as pages show it),
:mod:`.pages` (one module per page) and :mod:`.api` (the JSON API under ``/api/``). Static assets
(htmx, uPlot, with their licences) and templates ship inside the package: no network at run time.

Like the CLI, it calls ``agent`` and ``store`` functions and never builds SQL.
"""
