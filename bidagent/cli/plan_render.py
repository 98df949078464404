"""Changes as Terraform shows a plan: grouped by action (``+`` create, ``~`` change, ``-`` pause
or archive) and by campaign and ad group, each line naming the keyword or target, old -> new in
the profile's currency with the step, the rule; then what waits for review, and one closing line
(``Plan: 126 to create, 146 to change, 12 to pause; 15 held for review; daily budget +$42.00``).

Owns that text, for ``plan`` and for the summary ``cycle`` ends with. It reads change views
(:mod:`bidagent.agent.change_views`) and must not query or decide anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import typer

from bidagent.agent.change_views import Tally, tally
from bidagent.marketplaces import format_money
from bidagent.vocabulary import MONEY_FIELDS

__all__ = [
    "SYMBOLS",
    "closing_line",
    "entity_label",
    "render_changes",
    "show_value",
    "what",
    "why_line",
]

_SECTIONS = (("create", "+", "green"), ("change", "~", "yellow"), ("enable", "~", "yellow"),
             ("pause", "-", "red"), ("archive", "-", "red"))  # fmt: skip
SYMBOLS = {action: symbol for action, symbol, _ in _SECTIONS}
_COLOUR = {action: colour for action, _, colour in _SECTIONS}
_PERCENT_NAMES = {"acos", "target_acos", "ctr", "cvr", "budget_utilization", "max_step"}
_MONEY_NAMES = {"cost", "sales", "cpc", "rpc", "cpa", "bid", "default_bid", "budget", "base",
                "suggested_bid", "suggested_bid_low", "suggested_bid_high", "spend"}  # fmt: skip
_WINDOW = re.compile(r"^(prev_)?(.*?)(_\d+d)?$")


def _base_name(name: str) -> str:
    match = _WINDOW.match(name)
    return match.group(2) if match else name


def show_value(name: str, value: Any, currency: str | None) -> str:
    """One value as people read it: ratios as percents, money in ``currency``, counts whole."""
    if value is None:
        return "null"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return str(value)
    base = _base_name(name)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if base in _PERCENT_NAMES:
        return f"{float(number):.1%}"
    if (base in _MONEY_NAMES or name in MONEY_FIELDS) and currency:
        return format_money(number, currency)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{float(number):,.4g}"


def entity_label(view: dict[str, Any]) -> str:
    """What a change touches or creates: ``keyword "text" exact``, ``auto target close-match``."""
    target, match = view["target"], view["match_type"]
    kind, field_ = view["entity_kind"], view["field"]
    if view["action"] == "create":
        noun = field_.replace("_", " ")
        quoted = f'"{target}"' if target and not str(target).startswith("asin ") else target or ""
        return " ".join(x for x in (noun, quoted, match or "") if x)
    if kind == "keyword":
        return " ".join(x for x in ("keyword", f'"{target}"' if target else "", match or "") if x)
    if kind == "product_target":
        auto = (match or "").endswith("predefined")
        return f"{'auto target' if auto else 'product target'} {target or view['entity_id']}"
    if kind == "campaign":
        return "campaign"
    if kind == "ad_group":
        return "ad group"
    return f"{kind.replace('_', ' ')} {target or view['entity_id']}"


def what(view: dict[str, Any]) -> str:
    """What the change does to its field: ``: bid $1.72 -> $1.38 (-19.8%)``, ``, bid $0.84``."""
    currency = view["currency"]
    old, new, field_ = view["old"], view["new"], view["field"]
    if view["action"] == "create":
        return f", bid {show_value('bid', new, currency)}" if new is not None else ""
    if field_ in MONEY_FIELDS:
        step = f" ({view['step']:+.1%})" if view["step"] is not None else ""
        return f": {field_} {show_value(field_, old, currency)} -> {show_value(field_, new, currency)}{step}"
    return f": {field_} {old} -> {new}"


def why_line(evidence: dict[str, Any] | None, currency: str | None) -> str:
    """The evidence a change was made on, as ``acos 39.1%, orders 24, bid $1.72``."""
    shown = {k: v for k, v in (evidence or {}).items() if k != "state"}
    return ", ".join(f"{k} {show_value(k, v, currency)}" for k, v in shown.items())


Echo = Callable[..., None]


def _group_lines(views: Sequence[dict[str, Any]], extra: Callable[[dict[str, Any]], str]) -> Iterable[tuple[str, dict[str, Any] | None]]:  # fmt: skip
    """Lines of ``views`` under campaign and ad group headers, in first-seen order."""
    campaigns: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for view in views:
        campaign = view["campaign"] or view["campaign_id"] or "(no campaign)"
        group = view["ad_group"] or view["ad_group_id"] or ""
        campaigns.setdefault(campaign, {}).setdefault(group, []).append(view)
    for campaign, groups in campaigns.items():
        yield f'  campaign "{campaign}"', None
        for group, members in groups.items():
            indent = "    "
            if group:
                yield f'    ad group "{group}"', None
                indent = "      "
            for v in members:
                line = f"{indent}{SYMBOLS[v['action']]} {entity_label(v)}{what(v)}   {v['rule']}"
                yield line + extra(v), v
                why = why_line(v.get("evidence"), v["currency"])
                if why:
                    yield f"{indent}    {why}", None


def render_changes(
    views: Sequence[dict[str, Any]],
    sending: Iterable[str],
    echo: Echo = typer.secho,
    *,
    extra: Callable[[dict[str, Any]], str] = lambda _v: "",
) -> None:
    """Print the views whose status is in ``sending`` grouped by action, campaign, ad group."""
    wanted = set(sending)
    for action, symbol, colour in _SECTIONS:
        members = [v for v in views if v["action"] == action and v["status"] in wanted]
        if not members:
            continue
        echo(f"{symbol} {action} ({len(members)})", fg=colour, bold=True)
        for line, view in _group_lines(members, extra):
            echo(
                line,
                fg=_COLOUR[view["action"]] if view else None,
                dim=view is None and line.startswith("        "),
            )


def _budget(t: Tally) -> str:
    parts = [format_money(delta, currency or "USD", signed=True) for currency, delta in sorted(t.budget.items()) if delta]  # fmt: skip
    return f"; daily budget {', '.join(parts)}" if parts else ""


def closing_line(
    views: Iterable[dict[str, Any]],
    sending: Sequence[str],
    *,
    lead: str = "Plan",
    past: bool = False,
) -> str:
    """``Plan: 3 to create, 12 to change, 1 to pause; 5 held for review; daily budget +$4.00``,
    or with ``past`` ``Applied: 3 created, 12 changed, 1 paused; ...; 2 failed``."""
    t = tally(views, sending)
    n = {a: t.of(a, sending) for a in ("create", "change", "enable", "pause", "archive")}
    n["change"] += n.pop("enable")
    words = (
        {"create": "created", "change": "changed", "pause": "paused", "archive": "archived"}
        if past
        else {a: f"to {a}" for a in n}
    )
    counts = [f"{n[a]} {words[a]}" for a in ("create", "change", "pause")]
    if n["archive"]:
        counts.append(f"{n['archive']} {words['archive']}")
    line = f"{lead}: {', '.join(counts)}; {t.status('held')} held for review"
    if past:
        line += f"; {t.status('failed')} failed"
        if t.status("planned"):
            line += f"; {t.status('planned')} not sent (kill switch)"
    return line + _budget(t)
