"""Notifications: payload formats, fan-out, delivery to a real loopback receiver, retries, digest."""

from __future__ import annotations

import io
import json
import logging
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bidagent.agent.review.items import raise_review
from bidagent.agent.review.notify import (
    BACKOFF_CAP_S,
    DeliveryCounts,
    deliver_pending,
    enqueue_digest,
    retry_delay,
)
from bidagent.agent.review.webhook_payloads import build_payload
from bidagent.logs import configure_logging, register_settings_secrets
from bidagent.settings import LoggingSettings, NotifySettings, Settings, WebhookSettings
from bidagent.store import (
    ChangeRecord,
    NotificationRecord,
    session_scope,
)
from bidagent.store.review_items import list_items

NOW = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
TOKEN = "T0KEN-canary-8f3a1c"  # a fake secret the logs must never show


class Receiver:
    """A real HTTP server on 127.0.0.1 that records JSON bodies, or answers 503 when told."""

    def __init__(self, port: int = 0) -> None:
        self.bodies: list[tuple[str, Any]] = []
        self.status = 200
        self.reply: dict[str, Any] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status == 200:
                    receiver.bodies.append((self.path, json.loads(body)))
                reply = json.dumps(receiver.reply).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: Any) -> None:
                pass  # keep test output quiet (and the paths, which hold the token, out of it)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def _settings(*hooks: WebhookSettings, max_attempts: int = 20) -> Settings:
    return Settings(
        notify=NotifySettings(webhooks=list(hooks), timeout_s=2, max_attempts=max_attempts)
    )


def _hook(
    name: str, url: str, kind: str = "json", min_severity: str = "warning"
) -> WebhookSettings:
    return WebhookSettings(name=name, kind=kind, url=url, min_severity=min_severity)  # type: ignore[arg-type]


def _raise(engine: Engine, key: str, severity: str = "warning", now: datetime = NOW) -> int:
    with session_scope(engine) as session:
        item = raise_review(
            session,
            kind="data",
            severity=severity,
            summary=f"report missing ({key})",
            dedupe_key=key,
            profile_id="p1",
            evidence={"days": 2},
            now=now,
        )
        return item.id or 0


def _rows(engine: Engine) -> list[tuple[int | None, str, str, str, int]]:
    with Session(engine) as session:
        rows = session.exec(select(NotificationRecord).order_by(col(NotificationRecord.id)))
        return [(r.review_item_id, r.event, r.webhook, r.status, r.attempts) for r in rows]


ITEM_MESSAGE: dict[str, Any] = {
    "event": "opened",
    "item": {
        "id": 7,
        "kind": "approval",
        "severity": "critical",
        "status": "open",
        "profile_id": "p1",
        "entity_kind": "keyword",
        "entity_id": "kw1",
        "entity_name": "shoes <red>",
        "rule_name": "bleeding-keywords",
        "summary": "bid cut over 50% held",
        "evidence": {"clicks": 20},
        "occurrences": 1,
        "first_seen_at": "2025-03-10T08:00:00+00:00",
        "last_seen_at": "2025-03-10T08:00:00+00:00",
        "expires_at": "2025-03-13T08:00:00+00:00",
        "decided_by": None,
        "decided_at": None,
        "note": None,
        "change_count": 1,
        "changes": [
            {
                "entity_id": "kw1",
                "entity_name": "shoes <red>",
                "field": "bid",
                "old_value": "1.00",
                "new_value": "0.40",
                "status": "held",
            }
        ],
    },
}
ITEM_LINES = (
    "Profile: p1\nEntity: keyword shoes <red> (kw1)\nRule: bleeding-keywords\nEvidence: clicks=20\n"
    "Held: bid of shoes <red>: 1.00 → 0.40\nExpires: 2025-03-13T08:00:00+00:00"
)


def test_payload_formats_per_webhook_kind() -> None:
    """Each webhook kind gets its own documented body built from the same message."""
    title = "[CRITICAL] approval: bid cut over 50% held"
    assert build_payload("json", ITEM_MESSAGE) == {"source": "bidagent", **ITEM_MESSAGE}
    assert build_payload("dingtalk", ITEM_MESSAGE) == {
        "msgtype": "markdown",
        "markdown": {
            "title": title,
            "text": f"#### {title}\n\n"
            + "\n".join(f"- {line}" for line in ITEM_LINES.split("\n"))
            + "\n\n> bidagent review show 7",
        },
    }
    assert build_payload("slack", ITEM_MESSAGE) == {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ITEM_LINES.replace("<", "&lt;").replace(">", "&gt;"),
                },
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "bidagent review show 7"}]},
        ],
    }
    assert build_payload("feishu", ITEM_MESSAGE) == {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": "red"},
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": ITEM_LINES}},
                {
                    "tag": "note",
                    "elements": [{"tag": "plain_text", "content": "bidagent review show 7"}],
                },
            ],
        },
    }
    with pytest.raises(ValueError, match="unknown webhook kind 'teams'"):
        build_payload("teams", ITEM_MESSAGE)


def test_retry_delay_doubles_with_jitter_and_is_capped() -> None:
    """Delays grow exponentially within [half, full] of the ceiling, never past the cap."""
    rng = random.Random(1)
    for attempts, ceiling in ((1, 30), (2, 60), (3, 120), (8, 3600), (500, 3600)):
        delay = retry_delay(attempts, rng=rng).total_seconds()
        assert ceiling / 2 <= delay <= ceiling
    assert retry_delay(1, rng=rng, retry_after_s=600).total_seconds() == 600
    assert retry_delay(1, rng=rng, retry_after_s=10**6).total_seconds() == BACKOFF_CAP_S


def test_events_fan_out_to_webhooks_whose_min_severity_they_meet(
    engine: Engine, receiver: Receiver
) -> None:
    """An info item reaches the info webhook only; a critical one reaches both, once each."""
    settings = _settings(
        _hook("ops", receiver.url("/ops"), min_severity="info"),
        _hook("pager", receiver.url("/pager"), min_severity="critical"),
    )
    quiet = _raise(engine, "a", severity="info")
    loud = _raise(engine, "b", severity="critical")
    assert deliver_pending(engine, settings, now=NOW) == DeliveryCounts(sent=3)
    assert sorted((path, body["item"]["id"]) for path, body in receiver.bodies) == [
        ("/ops", quiet),
        ("/ops", loud),
        ("/pager", loud),
    ]
    assert deliver_pending(engine, settings, now=NOW + timedelta(hours=1)) == DeliveryCounts()
    assert len(receiver.bodies) == 3


def test_delivery_survives_the_receiver_being_down(engine: Engine, receiver: Receiver) -> None:
    """503s, then a closed port, then up again: every item arrives exactly once."""
    settings = _settings(_hook("ops", receiver.url("/hook")))
    items = [_raise(engine, f"k{i}") for i in range(5)]
    receiver.status = 503
    now = NOW
    assert deliver_pending(engine, settings, now=now) == DeliveryCounts(retried=5)
    port = receiver.port
    receiver.stop()  # now nothing listens on the port at all
    for _ in range(4):
        now += timedelta(seconds=BACKOFF_CAP_S)
        assert deliver_pending(engine, settings, now=now) == DeliveryCounts(retried=5)
    items.append(_raise(engine, "k5", now=now))  # raised while the receiver is down
    back = Receiver(port)
    try:
        now += timedelta(seconds=BACKOFF_CAP_S)
        assert deliver_pending(engine, settings, now=now) == DeliveryCounts(sent=6)
        now += timedelta(seconds=BACKOFF_CAP_S)
        assert deliver_pending(engine, settings, now=now) == DeliveryCounts()
        assert sorted(body["item"]["id"] for _, body in back.bodies) == items
    finally:
        back.stop()
    assert {(status, attempts) for _, _, _, status, attempts in _rows(engine)[:5]} == {("sent", 6)}


def test_not_yet_due_rows_wait_for_their_backoff(engine: Engine, receiver: Receiver) -> None:
    """A failed row is not retried before its next attempt time."""
    settings = _settings(_hook("ops", receiver.url("/hook")))
    _raise(engine, "k")
    receiver.status = 503
    deliver_pending(engine, settings, now=NOW, rng=random.Random(3))
    receiver.status = 200
    assert deliver_pending(engine, settings, now=NOW + timedelta(seconds=14)) == DeliveryCounts()
    assert deliver_pending(engine, settings, now=NOW + timedelta(seconds=30)) == DeliveryCounts(
        sent=1
    )


def test_feishu_error_codes_in_a_200_are_failures(engine: Engine, receiver: Receiver) -> None:
    """Feishu answers 200 with a non-zero code when it refuses a message: that is retried."""
    settings = _settings(_hook("lark", receiver.url("/f"), kind="feishu"))
    _raise(engine, "k")
    receiver.reply = {"code": 19024, "msg": "Key Words Not Found"}
    assert deliver_pending(engine, settings, now=NOW) == DeliveryCounts(retried=1)
    with Session(engine) as session:
        row = session.exec(select(NotificationRecord)).one()
        assert (row.status, row.last_error) == (
            "pending",
            "feishu error 19024: Key Words Not Found",
        )


def test_a_dead_webhook_raises_one_deduplicated_api_item(
    engine: Engine, receiver: Receiver
) -> None:
    """After max_attempts a row is dead and one 'api' review item names the webhook."""
    settings = _settings(_hook("ops", receiver.url("/hook")), max_attempts=2)
    first, second = _raise(engine, "a"), _raise(engine, "b")
    receiver.status = 503
    deliver_pending(engine, settings, now=NOW)
    assert deliver_pending(engine, settings, now=NOW + timedelta(hours=2)) == DeliveryCounts(dead=2)
    with Session(engine) as session:
        items = list_items(session, kind="api")
        assert [(i.summary, i.occurrences, i.dedupe_key) for i in items] == [
            ("webhook ops is not accepting notifications (HTTP 503)", 2, "api:webhook_dead:ops")
        ]
    assert _rows(engine)[:2] == [
        (first, "opened", "ops", "dead", 2),
        (second, "opened", "ops", "dead", 2),
    ]


def test_webhook_urls_never_reach_logs_or_the_outbox(
    engine: Engine,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A URL holding a token is used to post but never logged nor stored; the name is logged."""
    caplog.set_level(logging.DEBUG)
    closed = Receiver()
    closed.stop()
    settings = _settings(
        _hook("good", receiver.url(f"/hook/{TOKEN}")),
        _hook("broken", f"http://127.0.0.1:{closed.port}/hook?token={TOKEN}"),
    )
    _raise(engine, "k")
    assert deliver_pending(engine, settings, now=NOW) == DeliveryCounts(sent=1, retried=1)
    assert [path for path, _ in receiver.bodies] == [f"/hook/{TOKEN}"]
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert "broken" in logs
    assert "notification_sent" in logs
    assert TOKEN not in logs
    with Session(engine) as session:
        stored = [
            json.dumps([r.payload, r.last_error]) for r in session.exec(select(NotificationRecord))
        ]
    assert not [s for s in stored if TOKEN in s]


def test_digest_counts_changes_money_and_open_items(engine: Engine, receiver: Receiver) -> None:
    """The digest sums applied changes by rule and money moved, counts open items by kind."""
    settings = _settings(_hook("ops", receiver.url("/hook")))
    with session_scope(engine) as session:
        for rule, field, old, new, status in (
            ("bleeding-keywords", "bid", "1.00", "0.80", "applied"),
            ("bleeding-keywords", "bid", "0.50", "0.40", "applied"),
            ("scale-winners", "budget", "20.00", "25.00", "applied"),
            ("scale-winners", "budget", "20.00", "30.00", "failed"),
            ("pause-losers", "state", "enabled", "paused", "applied"),
        ):
            session.add(
                ChangeRecord(
                    profile_id="p1", entity_kind="keyword", entity_id="x", field=field,
                    old_value=old, new_value=new, rule_name=rule, status=status,
                    created_at=NOW - timedelta(hours=3), updated_at=NOW - timedelta(hours=2),
                    finished_at=NOW - timedelta(hours=2),
                )
            )  # fmt: skip
    _raise(engine, "a", now=NOW - timedelta(hours=5))
    with session_scope(engine) as session:
        assert enqueue_digest(session, settings, NOW) is not None
        assert enqueue_digest(session, settings, NOW + timedelta(hours=1)) is None
        assert enqueue_digest(session, _settings(), NOW + timedelta(days=1)) is None
    assert deliver_pending(engine, settings, now=NOW) == DeliveryCounts(sent=2)
    digests = [body for _, body in receiver.bodies if body["event"] == "digest"]
    assert digests == [
        {
            "source": "bidagent",
            "event": "digest",
            "digest": {
                "period_start": "2025-03-09T08:00:00+00:00",
                "period_end": "2025-03-10T08:00:00+00:00",
                "changes_applied": 4,
                "changes_by_rule": {"bleeding-keywords": 2, "pause-losers": 1, "scale-winners": 1},
                "money_moved": {"bid": "-0.30", "budget": "+5.00"},
                "open_items": 1,
                "open_items_by_kind": {"data": 1},
            },
        }
    ]


def test_webhook_names_are_logged_and_urls_are_not(engine: Engine, receiver: Receiver) -> None:
    """Log lines name the failing webhook (``webhook=broken``), never its URL or token."""
    closed = Receiver()
    closed.stop()
    settings = _settings(
        _hook("good", receiver.url(f"/hook/{TOKEN}")),
        _hook("broken", f"http://127.0.0.1:{closed.port}/hook?token={TOKEN}"),
    )
    register_settings_secrets(settings)
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json"), stream=stream)
    _raise(engine, "k")
    deliver_pending(engine, settings, now=NOW)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    named = sorted((e["event"], e["webhook"]) for e in events if "webhook" in e)
    assert named == [("notification_retry_scheduled", "broken"), ("notification_sent", "good")]
    assert TOKEN not in stream.getvalue()
