"""Logging: one structlog pipeline for our events and for stdlib loggers, with secrets redacted.

Owns the processor chain, the renderer choice (console on a terminal, JSON lines otherwise), the
``cycle_id``/``profile_id`` context, and the redaction of secrets. Everything that logs, ours or a
library's (APScheduler, SQLAlchemy, httpx), goes through one ``ProcessorFormatter`` so one
redaction step sees every line. It must not decide what is logged or where the ledger is: logs
help operators, the ledger is the audit trail.

Redaction removes secrets three ways, recursively through dicts, lists and tuples:

* by key name (``refresh_token=...``, ``{"Authorization": ...}``, ``webhook_url``),
* by shape (``Atza|...``, ``Atzr|...``, ``Bearer ...``, LWA client secrets, passwords in URLs,
  pre-signed URL signatures), wherever they sit inside a string,
* by exact value, for secrets registered with :func:`register_secret` (the configuration's own).

Tracebacks are rendered without frame locals: structlog's rich and dict renderers show locals by
default, and a local variable next to a failed token refresh is exactly where a token sits.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from pydantic import BaseModel, SecretStr
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

from bidagent.settings import LoggingSettings, Settings

__all__ = [
    "REDACTED",
    "bind_cycle",
    "configure_logging",
    "redact",
    "redact_text",
    "register_secret",
    "register_settings_secrets",
]

REDACTED = "[redacted]"

# A key whose lower-cased name contains one of these holds a secret, whatever its value looks like.
_SECRET_KEY_PARTS = (
    "secret",
    "token",
    "password",
    "passwd",
    "authorization",
    "cookie",
    "credential",
    "api_key",
    "apikey",
    "private_key",
    "signature",
    # A webhook's URL is a secret (it embeds a token); its name is how an operator tells which
    # receiver is failing, so ``webhook=<name>`` is logged as it is.
    "webhook_url",
)
# Exact key names that are secrets although they do not say so.
_SECRET_KEYS = frozenset({"dsn"})

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Login with Amazon access and refresh tokens.
    (re.compile(r"Atz[ar]\|[^\s\"',;&<>)\]}]+"), REDACTED),
    # LWA client secrets.
    (re.compile(r"amzn1\.oa2-cs\.v1\.[0-9A-Za-z]+"), REDACTED),
    # Authorization header values, wherever they were pasted.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 " + REDACTED),
    # Passwords in URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@/\s]+@"), r"\1:" + REDACTED + "@"),
    # Pre-signed URLs (report downloads) and webhook URLs that carry a token in the query.
    (
        re.compile(
            r"(?i)([?&](?:x-amz-(?:signature|credential|security-token)|access_token|token|sign|key)=)"
            r"[^&\s\"']+"
        ),
        r"\1" + REDACTED,
    ),
    # Webhook URLs whose path is the token (Slack, Feishu).
    (
        re.compile(r"(?i)(hooks\.slack\.com/services/|/open-apis/bot/v2/hook/)[^\s\"'?]+"),
        r"\1" + REDACTED,
    ),
)

# Values shorter than this are not registered: redacting every "abc" would garble logs for nothing.
_MIN_SECRET_LENGTH = 6
_secrets_lock = threading.Lock()
_registered: set[str] = set()
_registered_pattern: re.Pattern[str] | None = None

_HANDLER_NAME = "bidagent"
# httpx logs full URLs at INFO (pre-signed report links); httpcore logs headers at DEBUG;
# alembic narrates every migration check and APScheduler every successful job run.
_QUIET_LOGGERS = ("httpx", "httpcore", "alembic", "apscheduler.executors")
# APScheduler also warns at each fire it skips while a cycle still runs (max_instances=1, by
# design) and narrates adding jobs at INFO: below DEBUG only its errors are worth a line.
_ERRORS_ONLY_LOGGERS = ("apscheduler",)


def register_secret(value: str | SecretStr | None) -> None:
    """Redact this exact value wherever it appears in a log line from now on."""
    global _registered_pattern
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not raw or len(raw) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if raw in _registered:
            return
        _registered.add(raw)
        # Longest first, so a secret that contains another is removed whole.
        ordered = sorted(_registered, key=len, reverse=True)
        _registered_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _secret_values(value: Any) -> Iterator[SecretStr]:
    if isinstance(value, SecretStr):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_values(item)


def register_settings_secrets(settings: Settings) -> None:
    """Register every ``SecretStr`` of the configuration, and the database password, if any."""
    for secret in _secret_values(settings):
        register_secret(secret)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(settings.database.url).password
    except ArgumentError:  # an unparsable URL fails later, in the store, with its own message
        password = None
    if isinstance(password, str):
        register_secret(password)


def _is_secret_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    """``text`` with registered secrets and token-shaped substrings replaced."""
    pattern = _registered_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets removed, by key name, shape and registered value."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if _is_secret_key(k) and v is not None else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else is rendered by str() later; redact that rendering now.
    return redact_text(str(value))


def redact_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: :func:`redact` over the whole event, keeping private ``_`` keys."""
    return {
        key: value if key.startswith("_") else redact({key: value})[key]
        for key, value in event_dict.items()
    }


def _redact_rendered(_logger: WrappedLogger, _method: str, rendered: Any) -> Any:
    """Last line of defence after the renderer: a secret that slipped into formatting."""
    return redact_text(rendered) if isinstance(rendered, str) else rendered


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _renderer_chain(fmt: str) -> list[Processor]:
    if fmt == "json":
        return [
            # Tracebacks as dicts, without locals (SHOW_LOCALS defaults to True).
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            redact_event,
            structlog.processors.JSONRenderer(sort_keys=True),
        ]
    return [
        # Render the traceback to plain text first so redaction sees it; the console renderer
        # then prints the string as is instead of a rich traceback with locals.
        structlog.processors.format_exc_info,
        redact_event,
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        ),
    ]


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the call (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _choose_format(settings: LoggingSettings, stream: TextIO | None) -> str:
    if settings.format != "auto":
        return settings.format
    target = stream if stream is not None else sys.stderr
    isatty = getattr(target, "isatty", None)
    return "console" if callable(isatty) and isatty() else "json"


def configure_logging(
    settings: LoggingSettings | None = None, *, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting pipeline to ``stream``.

    Idempotent: calling it again replaces the previous handler and configuration. ``stream``
    defaults to the current ``sys.stderr`` (stdout is for command output).
    """
    settings = settings or LoggingSettings()
    fmt = _choose_format(settings, stream)
    shared = _shared_processors()

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer_chain(fmt),
            _redact_rendered,
        ],
    )
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _ERRORS_ONLY_LOGGERS:
        debugging = logging.getLevelName(settings.level) == logging.DEBUG
        logging.getLogger(name).setLevel(logging.NOTSET if debugging else logging.ERROR)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger created at import time must follow a later reconfiguration.
        cache_logger_on_first_use=False,
    )


@contextmanager
def bind_cycle(cycle_id: int | str | None, profile_id: str | None) -> Iterator[None]:
    """Bind ``cycle_id`` and ``profile_id`` to every log line inside the block, then unbind."""
    with structlog.contextvars.bound_contextvars(cycle_id=cycle_id, profile_id=profile_id):
        yield
