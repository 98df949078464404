"""What a backtest says about an edit: the verdict (the rules' profit against a reference arm,
over one seed or spread over several) and where the difference came from, per campaign and per
rule.

The reference is the first rule-folder baseline (``--baseline DIR``: "did my edit help?"), else
``none`` (no changes at all). Per campaign, the arms' true profit on that campaign's targets.
Per rule, the profit on the targets the rule changed in the rules arm against the same targets in
the reference arm: a target changed by several rules counts for each, a keyword a rule created
counts whole (the reference never had it), and a negative counts on the target whose search term
it blocked. It must not run anything or render anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean
from typing import TYPE_CHECKING, Any

from bidagent.marketplaces import format_money

if TYPE_CHECKING:
    from bidagent.agent.backtest.arms import ArmResult
    from bidagent.agent.backtest.run import BacktestResult

__all__ = ["Verdict", "campaign_impact", "reference_arm", "rule_impact", "verdict"]


def reference_arm(result: BacktestResult) -> ArmResult | None:
    """The arm the rules are judged against: a rule-folder baseline, else ``none``."""
    folders = [a for a in result.arms if a.name.startswith("baseline:")]
    return folders[0] if folders else result.arm("none")


def _by_target(arm: ArmResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(t["kind"]), str(t["entity_id"])): t for t in arm.targets}


def campaign_impact(result: BacktestResult) -> list[dict[str, Any]]:
    """Per campaign: the rules arm's profit, the reference's, and the difference, largest
    difference first."""
    rules, reference = result.arm("rules"), reference_arm(result)
    if rules is None or reference is None:
        return []
    sums: dict[str, dict[str, Any]] = {}
    for arm, key in ((rules, "profit"), (reference, "reference_profit")):
        for t in arm.targets:
            name = t.get("campaign") or t.get("campaign_id") or "(no campaign)"
            row = sums.setdefault(name, {"campaign": name, "profit": 0.0, "reference_profit": 0.0})
            row[key] += float(t["profit"] or 0.0)
    rows = [
        {**r, "profit": round(r["profit"], 2), "reference_profit": round(r["reference_profit"], 2),
         "difference": round(r["profit"] - r["reference_profit"], 2)}
        for r in sums.values()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (-abs(r["difference"]), r["campaign"]))


def rule_impact(result: BacktestResult) -> list[dict[str, Any]]:
    """Per rule of the rules arm: how many targets it changed, their profit there and in the
    reference arm, and the difference."""
    rules, reference = result.arm("rules"), reference_arm(result)
    if rules is None or reference is None:
        return []
    mine, theirs = _by_target(rules), _by_target(reference)
    rows = []
    for rule, targets in rules.rule_targets.items():
        profit = sum((float(mine[t]["profit"] or 0.0) for t in targets if t in mine), 0.0)
        before = sum((float(theirs[t]["profit"] or 0.0) for t in targets if t in theirs), 0.0)
        rows.append(
            {"rule": rule, "targets": len(targets), "profit": round(profit, 2),
             "reference_profit": round(before, 2), "difference": round(profit - before, 2)}
        )  # fmt: skip
    return sorted(rows, key=lambda r: (-abs(r["difference"]), r["rule"]))


@dataclass
class Verdict:
    """The rules' profit against the reference arm, per seed."""

    reference: str
    days: int
    currency: str
    differences: list[float]  # rules profit - reference profit, one per seed
    reference_profits: list[float]

    def to_json(self) -> dict[str, Any]:
        """JSON-native data, with the summary line."""
        return {
            "reference": self.reference,
            "days": self.days,
            "seeds": len(self.differences),
            "differences": self.differences,
            "mean": round(mean(self.differences), 2),
            "min": min(self.differences),
            "max": max(self.differences),
            "better_on": sum(1 for d in self.differences if d > 0),
            "line": self.line(),
        }

    def line(self) -> str:
        """``Verdict: rules earned $1,234.56 more profit than none over 14 days (+12.3%)``, or
        over several seeds how often they did better and the spread."""

        def money(value: float) -> str:
            return format_money(value, self.currency, signed=True)

        if len(self.differences) == 1:
            (diff,) = self.differences
            (base,) = self.reference_profits
            if not diff:
                return f"Verdict: rules earned the same profit as {self.reference} over {self.days} days"
            word = "more" if diff > 0 else "less"
            share = f" ({diff / abs(base):+.1%})" if base else ""
            return (
                f"Verdict: rules earned {format_money(abs(diff), self.currency)} {word} profit "
                f"than {self.reference} over {self.days} days{share}"
            )
        better = sum(1 for d in self.differences if d > 0)
        return (
            f"Verdict: rules earned more profit than {self.reference} on {better} of "
            f"{len(self.differences)} seeds over {self.days} days: {money(mean(self.differences))} "
            f"on average (from {money(min(self.differences))} to {money(max(self.differences))})"
        )


def verdict(results: list[BacktestResult]) -> Verdict | None:
    """The verdict over one result per seed; None without a rules arm or a reference."""
    differences, bases = [], []
    reference_name, currency = None, "USD"
    for result in results:
        rules, reference = result.arm("rules"), reference_arm(result)
        if rules is None or reference is None:
            return None
        reference_name, currency = reference.name, rules.currency
        differences.append(round(rules.totals["profit"] - reference.totals["profit"], 2))
        bases.append(reference.totals["profit"])
    if reference_name is None:
        return None
    return Verdict(reference_name, results[0].spec.days, currency, differences, bases)
