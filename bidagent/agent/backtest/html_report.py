"""The backtest's HTML report: one self-contained file, inline SVG, no script, no network.

Owns the page: the verdict, the comparison table, per-day line charts of profit, spend, sales
and ACoS per arm, where the difference came from (per rule, per campaign), the changes each rule
made and the review decisions; money in the account's currency with thousands separated. It must not run anything: it renders a finished
:class:`~bidagent.agent.backtest.run.BacktestResult`. Every value is escaped; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bidagent.agent.backtest.impact import campaign_impact, reference_arm, rule_impact, verdict
from bidagent.marketplaces import format_money

if TYPE_CHECKING:
    from bidagent.agent.backtest.arms import ArmResult
    from bidagent.agent.backtest.run import BacktestResult

__all__ = ["CHARTS", "ORACLE", "render_html_report", "write_html_report"]

# (metric key, title, axis format): the per-day series the issue asks for.
CHARTS = (
    ("profit", "Profit per day", "$"),
    ("spend", "Spend per day", "$"),
    ("sales", "Sales per day", "$"),
    ("acos", "ACoS", "%"),
)
# What the oracle arm is, in one sentence for the reader of the report.
ORACLE = (
    "The oracle arm sets every target's profit-maximising bid each day from the sandbox's hidden "
    "truths (true conversion rates, prices, margins and competing bids), which no real bidder "
    "knows: it is a ceiling to measure against, not a policy to copy."
)
_COLOURS = ("#1f77b4", "#7f7f7f", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 760, 240, 60, 16, 16, 36

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1000px; }
table { border-collapse: collapse; margin: 8px 0 24px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.changes td:nth-child(2), table.changes th:nth-child(2) { text-align: left; }
table.reviews td:nth-child(2), table.reviews th:nth-child(2) { text-align: left; }
svg.chart { display: block; margin-bottom: 8px; }
.legend span { display: inline-block; margin-right: 16px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.axis { stroke: #999; stroke-width: 1; }
.grid { stroke: #eee; stroke-width: 1; }
svg text { font-size: 11px; fill: #555; }
"""


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{value:.1%}"
    if unit not in ("", "%") and isinstance(value, int | float):
        return escape(format_money(value, unit))
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _tick(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0%}"
    return escape(format_money(round(value), unit)) if unit else f"{value:,.0f}"


def _chart(
    arms: Sequence[ArmResult], metric: str, title: str, unit: str, _currency: str = ""
) -> str:
    """One line chart: x = simulated day, y = ``metric``, one polyline per arm."""
    series = [[row.get(metric) for row in arm.daily] for arm in arms]
    values = [v for s in series for v in s if v is not None]
    top = max(values, default=1.0) or 1.0
    bottom = min(0.0, min(values, default=0.0))  # profit can be a loss
    span = (top - bottom) * 1.05 or 1.0
    days = max((len(s) for s in series), default=1)
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def x(i: int) -> float:
        return _PAD_L + (plot_w * i / (days - 1) if days > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _PAD_T + plot_h * (1 - (v - bottom) / span)

    parts = [
        f'<svg class="chart" data-metric="{metric}" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for k in range(5):
        v = bottom + span * k / 4
        parts.append(
            f'<line class="grid" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{_PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_tick(v, unit)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
    )
    first = arms[0].daily if arms else []
    for i in sorted({0, days // 2, days - 1}):
        if i < len(first):
            label = first[i]["date"].isoformat()
            anchor = "start" if i == 0 else "end" if i == days - 1 else "middle"
            parts.append(
                f'<text x="{x(i):.1f}" y="{_H - _PAD_B + 16}" text-anchor="{anchor}">{label}</text>'
            )
    for n, (arm, points) in enumerate(zip(arms, series, strict=True)):
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points) if v is not None)
        colour = _COLOURS[n % len(_COLOURS)]
        parts.append(
            f'<polyline class="series" data-arm="{escape(arm.name)}" fill="none" '
            f'stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{_COLOURS[n % len(_COLOURS)]}"></i>{escape(a.name)}</span>'
        for n, a in enumerate(arms)
    )
    return f'<h3>{escape(title)}</h3><div class="legend">{legend}</div>' + "".join(parts)


def _currency(result: BacktestResult) -> str:
    return result.arms[0].currency if result.arms else "USD"


def _impact(rows: list[dict[str, Any]], key: str, currency: str, reference: str, css: str) -> str:
    if not rows:
        return "<p>Nothing to attribute.</p>"
    extra = ["targets"] if key == "rule" else []
    headers = [key, *extra, "profit", f"profit ({reference})", "difference"]
    body = [
        [escape(str(r[key])), *[_fmt(r[e]) for e in extra], _fmt(r["profit"], currency),
         _fmt(r["reference_profit"], currency), _fmt(r["difference"], currency)]
        for r in rows
    ]  # fmt: skip
    return _table(headers, body, css)


def _comparison(result: BacktestResult) -> str:
    money = _currency(result)
    columns = (
        ("arm", ""), ("spend", money), ("sales", money), ("orders", ""), ("acos", "%"),
        ("roas", ""), ("profit", money), ("share_of_oracle", "%"), ("profit_vs_none", money),
        ("impressions", ""), ("clicks", ""), ("changes_applied", ""), ("review_items", ""),
    )  # fmt: skip
    rows = [[_fmt(r[key], unit) for key, unit in columns] for r in result.comparison()]
    return _table([c for c, _ in columns], rows, "comparison")


def _changes(result: BacktestResult) -> str:
    statuses = sorted({s for a in result.arms for r in a.changes_by_rule.values() for s in r})
    rows = [
        [escape(arm.name), escape(rule), *[str(counts.get(s, 0)) for s in statuses]]
        for arm in result.arms
        for rule, counts in arm.changes_by_rule.items()
    ]
    if not rows:
        return "<p>No rule changed anything.</p>"
    return _table(["arm", "rule", *statuses], rows, "changes")


def _reviews(result: BacktestResult) -> str:
    rows = [
        [
            escape(arm.name),
            escape(", ".join(f"{k} {n}" for k, n in arm.reviews_by_kind.items()) or "none"),
            str(arm.decisions.get("approved", 0)),
            str(arm.decisions.get("rejected", 0)),
            str(arm.decisions.get("resolved", 0)),
        ]
        for arm in result.arms
        if arm.kind == "rules"
    ]
    return _table(["arm", "items by kind", "approved", "rejected", "resolved"], rows, "reviews")


def render_html_report(result: BacktestResult) -> str:
    """The report as one HTML document."""
    spec = result.spec
    window = result.to_json()["window"]
    money = _currency(result)
    charts = "".join(_chart(result.arms, m, t, money if u == "$" else u) for m, t, u in CHARTS)
    judged = verdict([result])
    reference = reference_arm(result)
    ref_name = escape(reference.name) if reference else "none"
    impact_note = (
        f"Profit on the targets each rule changed, against the same targets in the "
        f"<strong>{ref_name}</strong> arm; a target changed by several rules counts for each, a "
        "keyword a rule created counts whole, a negative counts on the target it filtered."
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>bidagent backtest: {escape(spec.scenario)} seed {spec.seed}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Backtest: {escape(spec.scenario)}, seed {spec.seed}, {spec.days} days</h1>
<p>Simulated days {window["first"]} to {window["last"]} on a sandbox account of {spec.targets}
targets. Every arm replays the same market from the same seed; figures are the sandbox's true
accounting (conversions fully attributed, profit from product margins).
Rule arms ran with {escape(result.target_description())}. Review items were decided by the policy
<strong>{escape(spec.review_policy)}</strong> (items holding no change are resolved).</p>
<p class="verdict"><strong>{escape(judged.line()) if judged else "No verdict: no reference arm."}</strong></p>
<p>{escape(ORACLE)}</p>
<h2>Arms</h2>
{_comparison(result)}
<h2>Per day</h2>
{charts}
<h2>Impact by rule</h2>
<p>{impact_note}</p>
{_impact(rule_impact(result), "rule", money, ref_name, "impact-rules")}
<h2>Impact by campaign</h2>
{_impact(campaign_impact(result), "campaign", money, ref_name, "impact-campaigns")}
<h2>Changes by rule</h2>
{_changes(result)}
<h2>Review items</h2>
{_reviews(result)}
</body></html>
"""


def write_html_report(result: BacktestResult, path: Path) -> Path:
    """Write the report to ``path`` (parent folders created); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html_report(result), encoding="utf-8")
    return path
