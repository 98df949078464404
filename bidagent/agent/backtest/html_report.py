"""The backtest's HTML report: one self-contained file, inline SVG, no script, no network.

Owns the page: the comparison table, per-day line charts of spend, sales and ACoS per arm, the
changes each rule made and the review decisions. It must not run anything: it renders a finished
:class:`~bidagent.agent.backtest.run.BacktestResult`. Every value is escaped; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bidagent.agent.backtest.arms import ArmResult
    from bidagent.agent.backtest.run import BacktestResult

__all__ = ["CHARTS", "render_html_report", "write_html_report"]

# (metric key, title, axis format): the per-day series the issue asks for.
CHARTS = (("spend", "Spend per day", "$"), ("sales", "Sales per day", "$"), ("acos", "ACoS", "%"))
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
    if isinstance(value, float):
        return f"{value:,.2f}"
    return escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _tick(value: float, unit: str) -> str:
    return f"{value:.0%}" if unit == "%" else f"{value:,.0f}"


def _chart(arms: Sequence[ArmResult], metric: str, title: str, unit: str) -> str:
    """One line chart: x = simulated day, y = ``metric``, one polyline per arm."""
    series = [[row.get(metric) for row in arm.daily] for arm in arms]
    values = [v for s in series for v in s if v is not None]
    top = max(values, default=1.0) or 1.0
    days = max((len(s) for s in series), default=1)
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def x(i: int) -> float:
        return _PAD_L + (plot_w * i / (days - 1) if days > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _PAD_T + plot_h * (1 - v / (top * 1.05))

    parts = [
        f'<svg class="chart" data-metric="{metric}" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for k in range(5):
        v = top * 1.05 * k / 4
        parts.append(
            f'<line class="grid" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{_PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_tick(v, unit)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{_H - _PAD_B}" y2="{_H - _PAD_B}"/>'
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


def _comparison(result: BacktestResult) -> str:
    columns = (
        ("arm", ""), ("spend", ""), ("sales", ""), ("orders", ""), ("acos", "%"), ("roas", ""),
        ("profit", ""), ("share_of_oracle", "%"), ("profit_vs_none", ""), ("impressions", ""),
        ("clicks", ""), ("changes_applied", ""), ("review_items", ""),
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
    charts = "".join(_chart(result.arms, m, t, u) for m, t, u in CHARTS)
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
<h2>Arms</h2>
{_comparison(result)}
<h2>Per day</h2>
{charts}
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
