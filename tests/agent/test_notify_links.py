"""Notifications link back to the console: with ``[console] public_url`` every message carries
the item's page ({public_url}/review/{id}), a digest the queue; every chat format links to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bidagent.agent.review.notify import console_link, deliver_pending, enqueue_digest
from bidagent.agent.review.webhook_payloads import build_payload
from bidagent.settings import ConsoleSettings, NotifySettings, Settings
from bidagent.store import session_scope
from tests.agent.test_notify import ITEM_MESSAGE, NOW, Receiver, _hook, _raise, receiver

__all__ = ["receiver"]  # the fixture, shared with test_notify

URL = "https://console.example/review/7"
LINKED: dict[str, Any] = {**ITEM_MESSAGE, "url": URL}


def test_console_links_need_a_public_url() -> None:
    """An item links to its page, a digest to the queue, and nothing links without public_url."""
    assert [console_link("https://c.example", 7), console_link("https://c.example/", None),
            console_link(None, 7)] == [
        "https://c.example/review/7", "https://c.example/review", None,
    ]  # fmt: skip


def test_every_chat_format_links_to_the_console() -> None:
    """Slack puts the link in the context line, Feishu adds a button, DingTalk a markdown link,
    the json format passes the url on; without a url nothing changes."""
    slack = build_payload("slack", LINKED)["blocks"][-1]
    assert slack == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"<{URL}|Open in the console> · bidagent review show 7"}
    ]}  # fmt: skip
    feishu = build_payload("feishu", LINKED)["card"]["elements"]
    assert feishu[1:] == [
        {"tag": "action", "actions": [{"tag": "button", "type": "primary", "url": URL,
                                       "text": {"tag": "plain_text", "content": "Open in the console"}}]},
        {"tag": "note", "elements": [{"tag": "plain_text", "content": "bidagent review show 7"}]},
    ]  # fmt: skip
    dingtalk = build_payload("dingtalk", LINKED)["markdown"]["text"]
    assert dingtalk.endswith(f"\n\n[Open in the console]({URL})\n\n> bidagent review show 7")
    assert build_payload("json", LINKED) == {"source": "bidagent", **ITEM_MESSAGE, "url": URL}
    digest = {"event": "digest", "digest": {"period_end": "2025-03-10"}, "url": "https://c/review"}
    assert build_payload("slack", digest)["blocks"][-1]["elements"][0]["text"].startswith(
        "<https://c/review|Open the review queue> · "
    )
    assert "url" not in build_payload("json", ITEM_MESSAGE)


def test_delivered_messages_carry_the_console_url(engine: Engine, receiver: Receiver) -> None:
    """With public_url set, an item's message carries its page and the digest the queue; with
    none, messages carry no url."""
    hook = _hook("ops", receiver.url("/hook"), min_severity="info")
    linked = Settings(
        notify=NotifySettings(webhooks=[hook], timeout_s=2),
        console=ConsoleSettings(public_url="https://console.example/"),
    )
    item_id = _raise(engine, "k")
    with session_scope(engine) as session:
        assert enqueue_digest(session, linked, NOW) is not None
    deliver_pending(engine, linked, now=NOW)
    plain = Settings(notify=NotifySettings(webhooks=[hook], timeout_s=2))
    other = _raise(engine, "other", now=NOW + timedelta(minutes=1))
    deliver_pending(engine, plain, now=NOW + timedelta(minutes=1))
    urls = [(body["event"], body.get("item", {}).get("id"), body.get("url"))
            for _, body in receiver.bodies]  # fmt: skip
    assert urls == [
        ("opened", item_id, f"https://console.example/review/{item_id}"),
        ("digest", None, "https://console.example/review"),
        ("opened", other, None),
    ]
