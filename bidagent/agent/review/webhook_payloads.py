"""The bodies posted to each kind of webhook: Slack-compatible, Feishu, DingTalk and plain JSON.

Owns wording and layout only. Input is a *message*, a JSON-native dict, either
``{"event": "opened" | "escalated", "item": <item_json with changes>}`` or
``{"event": "digest", "digest": {...}}``, with a ``url`` when the console's ``public_url`` is
set (the item's page, or the queue): chat formats link to it, the json format passes it on.
Output is the JSON body for one webhook kind. It must not touch the database or the network, so
every format is tested as a plain function.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_payload"]

MAX_CHANGES_SHOWN = 10  # a blast-radius hold can carry hundreds; the CLI shows them all
MAX_EVIDENCE_SHOWN = 8
_SLACK_HEADER_MAX = 150  # Slack rejects longer plain_text headers
_SLACK_SECTION_MAX = 3000
_FEISHU_COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}


def _item_lines(event: str, item: dict[str, Any]) -> tuple[str, list[str], str]:
    severity = str(item.get("severity") or "warning")
    prefix = "Escalated: " if event == "escalated" else ""
    title = f"{prefix}[{severity.upper()}] {item.get('kind')}: {item.get('summary')}"
    lines: list[str] = []
    if item.get("profile_id"):
        lines.append(f"Profile: {item['profile_id']}")
    if item.get("entity_id"):
        name = item.get("entity_name") or item["entity_id"]
        lines.append(f"Entity: {item.get('entity_kind')} {name} ({item['entity_id']})")
    if item.get("rule_name"):
        lines.append(f"Rule: {item['rule_name']}")
    if (item.get("occurrences") or 1) > 1:
        lines.append(f"Seen {item['occurrences']} times since {item.get('first_seen_at')}")
    evidence = item.get("evidence") or {}
    if evidence:
        shown = list(evidence.items())[:MAX_EVIDENCE_SHOWN]
        lines.append("Evidence: " + ", ".join(f"{k}={v}" for k, v in shown))
    changes = [c for c in item.get("changes") or [] if c.get("status") == "held"]
    for change in changes[:MAX_CHANGES_SHOWN]:
        name = change.get("entity_name") or change.get("entity_id")
        lines.append(
            f"Held: {change.get('field')} of {name}: {change.get('old_value')} → {change.get('new_value')}"
        )
    if len(changes) > MAX_CHANGES_SHOWN:
        lines.append(f"… and {len(changes) - MAX_CHANGES_SHOWN} more held changes")
    if item.get("expires_at"):
        lines.append(f"Expires: {item['expires_at']}")
    footer = f"bidagent review show {item.get('id')}"
    return title, lines, footer


def _digest_lines(digest: dict[str, Any]) -> tuple[str, list[str], str]:
    title = f"bidagent daily digest, {digest.get('period_end', '')[:10]}"
    lines = [f"Changes applied: {digest.get('changes_applied', 0)}"]
    for rule, count in (digest.get("changes_by_rule") or {}).items():
        lines.append(f"  {rule}: {count}")
    money = digest.get("money_moved") or {}
    if money:
        lines.append(
            "Money moved: " + ", ".join(f"{field} {delta}" for field, delta in money.items())
        )
    lines.append(f"Open review items: {digest.get('open_items', 0)}")
    for kind, count in (digest.get("open_items_by_kind") or {}).items():
        lines.append(f"  {kind}: {count}")
    footer = f"{digest.get('period_start')} to {digest.get('period_end')}; bidagent review list"
    return title, lines, footer


def message_lines(message: dict[str, Any]) -> tuple[str, list[str], str]:
    """Title, body lines and footer of a message, shared by every chat format."""
    if message.get("event") == "digest":
        return _digest_lines(message.get("digest") or {})
    return _item_lines(str(message.get("event")), message.get("item") or {})


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _link_text(message: dict[str, Any]) -> str:
    return "Open in the console" if message.get("event") != "digest" else "Open the review queue"


def _slack(message: dict[str, Any]) -> dict[str, Any]:
    title, lines, footer = message_lines(message)
    body = "\n".join(_slack_escape(line) for line in lines) or " "
    context = _slack_escape(footer)
    if url := message.get("url"):
        # A link is <url|text>; the URL is ours (public_url), so only the text is escaped.
        context = f"<{url}|{_link_text(message)}> · {context}"
    return {
        "text": _clip(title, _SLACK_SECTION_MAX),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _clip(title, _SLACK_HEADER_MAX)},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(body, _SLACK_SECTION_MAX)},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def _severity(message: dict[str, Any]) -> str:
    return str((message.get("item") or {}).get("severity") or "info")


def _feishu(message: dict[str, Any]) -> dict[str, Any]:
    title, lines, footer = message_lines(message)
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(lines)}}
    ]
    if url := message.get("url"):
        button = {"tag": "button", "text": {"tag": "plain_text", "content": _link_text(message)},
                  "url": url, "type": "primary"}  # fmt: skip
        elements.append({"tag": "action", "actions": [button]})
    elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": footer}]})
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": title},
                "template": _FEISHU_COLOURS.get(_severity(message), "blue"),
            },
            "elements": elements,
        },
    }


def _dingtalk(message: dict[str, Any]) -> dict[str, Any]:
    title, lines, footer = message_lines(message)
    # DingTalk markdown needs a blank line between paragraphs; "- " lines render as a list.
    parts = [f"#### {title}", "\n".join(f"- {line}" for line in lines)]
    if url := message.get("url"):
        parts.append(f"[{_link_text(message)}]({url})")
    text = "\n\n".join([*parts, f"> {footer}"])
    return {"msgtype": "markdown", "markdown": {"title": _clip(title, 64), "text": text}}


def _json(message: dict[str, Any]) -> dict[str, Any]:
    return {"source": "bidagent", **message}


_BUILDERS = {"slack": _slack, "feishu": _feishu, "dingtalk": _dingtalk, "json": _json}


def build_payload(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """The JSON body to post to a webhook of ``kind`` (``slack feishu dingtalk json``)."""
    try:
        builder = _BUILDERS[kind]
    except KeyError:
        raise ValueError(f"unknown webhook kind {kind!r}") from None
    return builder(message)
