"""Delivering the notification outbox to webhooks, and the daily digest.

Owns the outbox's life after :func:`bidagent.agent.review.items.raise_review` queues an event: fanning
each event out to one row per configured webhook (whose ``min_severity`` it meets), posting due
rows, retrying failures with capped exponential backoff and jitter, and giving up (``dead``) only
after ``notify.max_attempts``, which raises one deduplicated ``api`` review item per webhook.
Delivery is at least once: a row is marked sent right after its post, so only a crash between
the two can repeat a message.
The outbox's statements and its rows' status writes live in :mod:`bidagent.store.outbox`.

It must not hold a database transaction across an HTTP post, and must never log or store a
webhook URL: URLs carry tokens, so logs and ``last_error`` name the webhook instead.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import structlog

from bidagent.agent.review.items import (
    SEVERITIES,
    get_item,
    item_json,
    raise_review,
)
from bidagent.agent.review.webhook_payloads import build_payload
from bidagent.settings import Settings, WebhookSettings
from bidagent.store import ChangeRecord, Engine, NotificationRecord, Session, session_scope
from bidagent.store.change_log import applied_between
from bidagent.store.outbox import (
    ALL_WEBHOOKS,
    last_digest_at,
    mark_dead,
    mark_sent,
    notification_by_id,
    queued_events,
    take_due,
)
from bidagent.store.review_items import open_item_kinds
from bidagent.vocabulary import MONEY_FIELDS, make_dedupe_key

__all__ = [
    "BACKOFF_CAP_S",
    "DeliveryCounts",
    "console_link",
    "deliver_pending",
    "enqueue_digest",
    "retry_delay",
]

log = structlog.get_logger(__name__)
# httpx logs every request URL at INFO, and a webhook URL is a secret.
logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))

BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0
DIGEST_PERIOD = timedelta(days=1)
MIN_DIGEST_GAP = timedelta(hours=12)  # a second digest sooner than this is a double fire


@dataclass(frozen=True)
class DeliveryCounts:
    """What one :func:`deliver_pending` pass did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0


def retry_delay(
    attempts: int, *, rng: random.Random, retry_after_s: float | None = None
) -> timedelta:
    """Delay before the next try after ``attempts`` failures: doubling from ``BACKOFF_BASE_S``,
    capped at ``BACKOFF_CAP_S``, with equal jitter (half fixed, half random) so many failed
    rows do not retry in step; never sooner than the receiver's ``Retry-After`` (also capped)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(max(attempts - 1, 0), 30))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, BACKOFF_CAP_S))
    return timedelta(seconds=delay)


def _wants(webhook: WebhookSettings, severity: str) -> bool:
    rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1
    return SEVERITIES.index(webhook.min_severity) <= rank


def console_link(public_url: str | None, item_id: int | None) -> str | None:
    """Where a message links to in the console: the item's page, or the queue for a digest;
    None without ``[console] public_url``."""
    if not public_url:
        return None
    base = public_url.rstrip("/")
    return f"{base}/review/{item_id}" if item_id is not None else f"{base}/review"


def fan_out(
    session: Session,
    webhooks: Iterable[WebhookSettings],
    now: datetime,
    *,
    public_url: str | None = None,
) -> int:
    """Replace each queued event with one row per webhook that wants it; return rows created.

    The body is built now, from the item as it stands (with the changes attached since it was
    raised); digests go to every webhook. With ``public_url`` (``[console] public_url``) the
    message carries a ``url``: the item's page in the console, or the queue for a digest.
    """
    hooks = list(webhooks)
    created = 0
    for row in queued_events(session):
        payload = row.payload or {}
        if row.review_item_id is not None:
            item, changes = get_item(session, row.review_item_id)
            message: dict[str, Any] = {"event": row.event, "item": item_json(item, changes)}
            severity = str(payload.get("severity") or item.severity)
            targets = [w for w in hooks if _wants(w, severity)]
        else:
            message, targets = dict(payload), hooks
        if link := console_link(public_url, row.review_item_id):
            message["url"] = link
        for hook in targets:
            session.add(
                NotificationRecord(
                    review_item_id=row.review_item_id,
                    event=row.event,
                    webhook=hook.name,
                    payload=build_payload(hook.kind, message),
                    next_attempt_at=now,
                    created_at=row.created_at or now,
                )
            )
            created += 1
        session.delete(row)
    return created


@dataclass(frozen=True)
class _Due:
    id: int
    webhook: str
    payload: dict[str, Any]
    attempts: int


def _claim_due(engine: Engine, settings: Settings, now: datetime, limit: int) -> list[_Due]:
    """Fan out, then take due rows; pushing their next attempt past the post's timeout keeps a
    second sender from posting them at the same time."""
    lease = now + timedelta(seconds=settings.notify.timeout_s * 3)
    with session_scope(engine) as session:
        fan_out(session, settings.notify.webhooks, now, public_url=settings.console.public_url)
        session.flush()
        rows = take_due(session, now, limit=limit, lease_until=lease)
        return [_Due(r.id or 0, r.webhook, r.payload or {}, r.attempts) for r in rows]


def _post(
    client: httpx.Client, hook: WebhookSettings, payload: dict[str, Any]
) -> tuple[str | None, float | None]:
    """Post once; return (error or None, Retry-After seconds). Errors never contain the URL."""
    url = hook.url.get_secret_value()
    try:
        response = client.post(url, json=payload)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {str(exc).replace(url, '[webhook url]')}", None
    if not response.is_success:
        retry_after = response.headers.get("retry-after", "")
        delay = float(retry_after) if retry_after.strip().isdigit() else None
        return f"HTTP {response.status_code}", delay
    return _app_error(hook.kind, response), None


def _app_error(kind: str, response: httpx.Response) -> str | None:
    """Feishu and DingTalk answer 200 with an error code in the body (bad keyword, signature)."""
    if kind not in ("feishu", "dingtalk"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("errcode") if kind == "dingtalk" else body.get("code", body.get("StatusCode"))
    if code in (None, 0):
        return None
    text = body.get("errmsg") if kind == "dingtalk" else body.get("msg", body.get("StatusMessage"))
    return f"{kind} error {code}: {text}"


def _record(
    engine: Engine,
    settings: Settings,
    due: _Due,
    error: str | None,
    retry_after_s: float | None,
    *,
    now: datetime,
    rng: random.Random,
) -> str:
    """Write the outcome of one post; return ``sent``, ``retried`` or ``dead``."""
    with session_scope(engine) as session:
        row = notification_by_id(session, due.id)
        assert row is not None
        row.attempts += 1
        if error is None:
            mark_sent(row, now)
            session.add(row)
            log.info(
                "notification_sent", notification_id=due.id, webhook=due.webhook, kind=row.event
            )
            return "sent"
        row.last_error = error
        if row.attempts < settings.notify.max_attempts:
            row.next_attempt_at = now + retry_delay(
                row.attempts, rng=rng, retry_after_s=retry_after_s
            )
            session.add(row)
            log.warning(
                "notification_retry_scheduled",
                notification_id=due.id,
                webhook=due.webhook,
                attempts=row.attempts,
                error=error,
                next_attempt_at=row.next_attempt_at.isoformat() if row.next_attempt_at else None,
            )
            return "retried"
        mark_dead(row)
        session.add(row)
        raise_review(
            session,
            kind="api",
            severity="warning",
            summary=f"webhook {due.webhook} is not accepting notifications ({error})",
            dedupe_key=make_dedupe_key("api", "webhook_dead", due.webhook),
            evidence={
                "webhook": due.webhook,
                "notification_id": due.id,
                "attempts": row.attempts,
                "last_error": error,
            },
            now=now,
        )
        log.error("notification_dead", notification_id=due.id, webhook=due.webhook, error=error)
        return "dead"


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    client: httpx.Client | None = None,
    limit: int = 100,
    rng: random.Random | None = None,
) -> DeliveryCounts:
    """Post every due outbox row (at most ``limit``), each in its own short transaction."""
    due_rows = _claim_due(engine, settings, now, limit)
    if not due_rows:
        return DeliveryCounts()
    hooks = {w.name: w for w in settings.notify.webhooks}
    jitter = rng or random.Random()
    http = client or httpx.Client(timeout=settings.notify.timeout_s)
    counts: Counter[str] = Counter()
    try:
        for due in due_rows:
            hook = hooks.get(due.webhook)
            if hook is None:
                # Renamed or removed from the config: keep retrying, it may come back.
                error: str | None = "webhook is no longer configured"
                retry_after_s = None
            else:
                error, retry_after_s = _post(http, hook, due.payload)
            counts[_record(engine, settings, due, error, retry_after_s, now=now, rng=jitter)] += 1
    finally:
        if client is None:
            http.close()
    return DeliveryCounts(sent=counts["sent"], retried=counts["retried"], dead=counts["dead"])


def _money(changes: Iterable[ChangeRecord]) -> dict[str, str]:
    moved: dict[str, Decimal] = {}
    for change in changes:
        if change.field not in MONEY_FIELDS:
            continue
        try:
            delta = Decimal(change.new_value or "") - Decimal(change.old_value or "")
        except InvalidOperation:
            continue  # a created entity has no old value: nothing moved
        moved[change.field] = moved.get(change.field, Decimal(0)) + delta
    return {field: f"{delta:+.2f}" for field, delta in sorted(moved.items())}


def enqueue_digest(
    session: Session, settings: Settings, now: datetime
) -> NotificationRecord | None:
    """Queue the daily digest (changes by rule, money moved, open items by kind) covering the
    time since the last digest, at most a day. None when no webhook is configured or a digest
    went out less than ``MIN_DIGEST_GAP`` ago (the scheduler fired twice)."""
    if not settings.notify.webhooks:
        return None
    last = last_digest_at(session)
    if last is not None and now - last < MIN_DIGEST_GAP:
        return None
    since = max(last, now - DIGEST_PERIOD) if last is not None else now - DIGEST_PERIOD
    applied = applied_between(session, since, now)
    by_rule = Counter(c.rule_name or c.actor for c in applied)
    open_kinds = Counter(open_item_kinds(session))
    digest = {
        "period_start": since.isoformat(),
        "period_end": now.isoformat(),
        "changes_applied": len(applied),
        "changes_by_rule": dict(sorted(by_rule.items())),
        "money_moved": _money(applied),
        "open_items": sum(open_kinds.values()),
        "open_items_by_kind": dict(sorted(open_kinds.items())),
    }
    row = NotificationRecord(
        event="digest",
        webhook=ALL_WEBHOOKS,
        payload={"event": "digest", "digest": digest},
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    log.info("digest_queued", changes_applied=len(applied), open_items=digest["open_items"])
    return row
