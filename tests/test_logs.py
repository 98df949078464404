"""Logging: one redacting pipeline for structlog, stdlib loggers and tracebacks."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
import structlog
from pydantic import SecretStr

from bidagent.logs import (
    REDACTED,
    bind_cycle,
    configure_logging,
    redact,
    redact_text,
    register_secret,
    register_settings_secrets,
)
from bidagent.settings import LoggingSettings, Settings


def _canary(prefix: str = "canary-") -> str:
    return prefix + uuid.uuid4().hex


def _refresh(token: str, opaque: str) -> None:
    access_token = token
    payload = {"grant": opaque}  # an unregistered, unshaped value only frame locals would show
    raise RuntimeError(f"refresh failed for {access_token} ({len(payload)} fields)")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_canary_secrets_never_reach_the_output(fmt: str) -> None:
    """Registered, token-shaped and secret-keyed values vanish from every path, locals included."""
    registered = _canary()
    register_secret(registered)
    access = _canary("Atza|")
    refresh = _canary("Atzr|")
    keyed = _canary("key-")
    opaque = _canary("opaque-")
    stream = io.StringIO()
    configure_logging(LoggingSettings(format=fmt), stream=stream)  # type: ignore[arg-type]
    log = structlog.get_logger("bidagent.test")

    log.info(
        "token_refreshed", client_secret=keyed, note=f"got {registered}", nested=[{"a": access}]
    )
    logging.getLogger("sqlalchemy.pool").warning("job saw %s and %s", registered, refresh)
    logging.getLogger("sqlalchemy.engine").info("params {'Authorization': 'Bearer %s'}", keyed)
    try:
        _refresh(registered, opaque)
    except RuntimeError:
        log.exception("refresh_failed", token=refresh)
        logging.getLogger("httpx_like").exception("stdlib saw %s", access)

    output = stream.getvalue()
    assert "token_refreshed" in output
    assert "refresh_failed" in output
    assert "job saw" in output
    assert "Traceback" in output or '"exc_type": "RuntimeError"' in output
    assert REDACTED in output
    for secret in (registered, access, refresh, keyed, opaque):
        assert secret not in output
    # The part after the "|" would be just as bad on its own.
    for secret in (access, refresh):
        assert secret.split("|")[1] not in output


def test_json_lines_carry_bound_cycle_context_for_structlog_and_stdlib() -> None:
    """Inside ``bind_cycle`` every line, ours and a library's, names the cycle and profile."""
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="DEBUG"), stream=stream)
    with bind_cycle(42, "p-1"):
        structlog.get_logger("bidagent.agent").info("cycle_started", rules=3)
        logging.getLogger("apscheduler.scheduler").info("Running job %s", "daily")
    structlog.get_logger("bidagent.agent").info("cycle_outside")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    trimmed = [{k: v for k, v in line.items() if k != "timestamp"} for line in lines]
    assert trimmed == [
        {
            "event": "cycle_started",
            "level": "info",
            "logger": "bidagent.agent",
            "rules": 3,
            "cycle_id": 42,
            "profile_id": "p-1",
        },
        {
            "event": "Running job daily",
            "level": "info",
            "logger": "apscheduler.scheduler",
            "cycle_id": 42,
            "profile_id": "p-1",
        },
        {"event": "cycle_outside", "level": "info", "logger": "bidagent.agent"},
    ]
    assert all(line["timestamp"].endswith("Z") for line in lines)


def test_apscheduler_speaks_only_of_errors_below_debug() -> None:
    """At INFO, APScheduler's job narration and its skipped-fire warnings (max_instances=1 by
    design) are dropped and its errors kept; at DEBUG it says everything."""
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="INFO"), stream=stream)
    scheduler = logging.getLogger("apscheduler.scheduler")
    scheduler.info("Added job %s", "daily")
    scheduler.warning("Execution of job skipped: maximum number of running instances reached")
    scheduler.error("Job raised")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["Job raised"]
    configure_logging(LoggingSettings(format="json", level="DEBUG"), stream=stream)
    scheduler.info("Added job %s", "hourly")
    assert json.loads(stream.getvalue().splitlines()[-1])["event"] == "Added job hourly"


def test_httpx_and_httpcore_are_held_at_warning() -> None:
    """httpx prints full (pre-signed) URLs at INFO, so its loggers stay at WARNING."""
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="DEBUG"), stream=stream)
    logging.getLogger("httpx").info("HTTP Request: GET https://example.test/report?sig=1")
    logging.getLogger("httpcore.http11").debug("receive_response_headers")
    assert stream.getvalue() == ""
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING


def test_configure_logging_is_idempotent() -> None:
    """Configuring twice leaves one handler: each event is written once, to the latest stream."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging(LoggingSettings(format="json"), stream=first)
    configure_logging(LoggingSettings(format="json"), stream=second)
    structlog.get_logger().info("once")
    assert first.getvalue() == ""
    assert [json.loads(line)["event"] for line in second.getvalue().splitlines()] == ["once"]


def test_level_filters_structlog_and_stdlib() -> None:
    """Events below the configured level are dropped on both paths."""
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="WARNING"), stream=stream)
    structlog.get_logger().info("quiet")
    logging.getLogger("x").info("quiet too")
    structlog.get_logger().warning("loud")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["loud"]


def test_auto_format_is_json_off_a_terminal_and_console_on_one() -> None:
    """``format = "auto"`` picks JSON for a pipe and the console renderer for a TTY."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Terminal()
    configure_logging(LoggingSettings(), stream=pipe)
    structlog.get_logger().info("piped", n=1)
    configure_logging(LoggingSettings(), stream=tty)
    structlog.get_logger().info("shown", n=1)
    assert json.loads(pipe.getvalue())["event"] == "piped"
    assert "shown" in tty.getvalue()
    assert "n=1" in tty.getvalue()
    assert not tty.getvalue().lstrip().startswith("{")


def test_redact_by_key_name_recursively() -> None:
    """Secret-named keys are masked at any depth; other values are kept as they were."""
    value = {
        "profile_id": "123",
        "headers": {"Authorization": "anything", "Amazon-Advertising-API-Scope": "123"},
        "items": [{"refresh_token": "x1"}, {"clicks": 4}],
        "pair": ("plain", {"client_secret": "y"}),
        "webhook_url": "https://example.test/hook",
        "password": None,
    }
    assert redact(value) == {
        "profile_id": "123",
        "headers": {"Authorization": REDACTED, "Amazon-Advertising-API-Scope": "123"},
        "items": [{"refresh_token": REDACTED}, {"clicks": 4}],
        "pair": ("plain", {"client_secret": REDACTED}),
        "webhook_url": REDACTED,
        "password": None,
    }


def test_redact_by_shape_inside_text() -> None:
    """Token shapes, URL passwords and signed query parameters are cut out of free text."""
    text = (
        "got Atza|IwEB-x_y.z and Atzr|Abc/def=, header Bearer abc.DEF-123; "
        "db postgresql://bid:s3cret@db:5432/x report https://s3.test/f?X-Amz-Signature=abc&n=1 "
        "secret amzn1.oa2-cs.v1.0123abcd"
    )
    assert redact_text(text) == (
        f"got {REDACTED} and {REDACTED}, header Bearer {REDACTED}; "
        f"db postgresql://bid:{REDACTED}@db:5432/x report "
        f"https://s3.test/f?X-Amz-Signature={REDACTED}&n=1 secret {REDACTED}"
    )


def test_register_settings_secrets_covers_every_secret_field_and_the_db_password() -> None:
    """Every SecretStr of the settings, webhooks included, and the database password are redacted."""
    hook, lwa, db_password = _canary("hook-"), _canary("lwa-"), _canary("pw-")
    settings = Settings.model_validate(
        {
            "database": {"url": f"postgresql+psycopg://bid:{db_password}@db/bid"},
            "ads": {"client_secret": lwa},
            "notify": {"webhooks": [{"name": "ops", "url": f"https://chat.test/{hook}"}]},
        }
    )
    register_settings_secrets(settings)
    assert redact_text(f"to https://chat.test/{hook} {lwa} {db_password}") == (
        f"to {REDACTED} {REDACTED} {REDACTED}"
    )


def test_short_values_are_not_registered() -> None:
    """A secret shorter than six characters is ignored rather than garbling every line."""
    register_secret("abc")
    register_secret(SecretStr(""))
    register_secret(None)
    assert redact_text("abc abcdef") == "abc abcdef"
