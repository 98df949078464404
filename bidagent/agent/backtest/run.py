"""The backtest: what a rule set would have done, replayed on the sandbox against baselines.

Owns the run (which arms, in which temporary folder, in what order) and the comparison: each
arm's profit against ``none`` and as a share of ``oracle``, and its ACoS against the target. The
arms themselves live in :mod:`bidagent.agent.backtest.arms`; rendering (JSON, table, HTML) belongs
to the CLI and :mod:`bidagent.agent.backtest.html_report`. It must not print and must not write
outside its temporary folder.

All arms run in this one process, one after the other, each in its own sandbox generated from
the same seed and scenario and advanced one day at a time: the sandbox is deterministic per seed
and sequence of ``advance`` calls, so the arms see identical searches and draws.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bidagent.agent.backtest.arms import ArmResult, ArmSpec, BacktestSpec, DayCallback, run_arm
from bidagent.agent.backtest.impact import campaign_impact, reference_arm, rule_impact
from bidagent.errors import AgentError
from bidagent.settings import Settings

__all__ = [
    "ArmResult",
    "ArmSpec",
    "BacktestResult",
    "BacktestSpec",
    "arms_for",
    "run_backtest",
]


@dataclass
class BacktestResult:
    """Every arm's results over the same simulated days, and how they compare."""

    spec: BacktestSpec
    target_acos: float
    arms: list[ArmResult]

    def arm(self, name: str) -> ArmResult | None:
        """The arm called ``name``, if it ran."""
        return next((a for a in self.arms if a.name == name), None)

    def target_description(self) -> str:
        """How the rule arms' target ACoS was set, for titles and reports."""
        for arm in self.arms:
            if arm.target_acos is not None and arm.margin_target is not None:
                return (
                    f"target ACoS {arm.margin_target:g} x each campaign's product margin "
                    f"(mean {arm.target_acos:.1%})"
                )
        return f"target ACoS {self.target_acos:.0%}"

    def comparison(self) -> list[dict[str, Any]]:
        """One row per arm: headline totals, profit vs ``none`` and as a share of ``oracle``."""
        none, oracle = self.arm("none"), self.arm("oracle")
        rows = []
        for arm in self.arms:
            profit = arm.totals["profit"]
            acos = arm.totals["acos"]
            target = arm.target_acos if arm.target_acos is not None else self.target_acos
            rows.append(
                {
                    "arm": arm.name,
                    **arm.totals,
                    "profit_vs_none": round(profit - none.totals["profit"], 2) if none else None,
                    "share_of_oracle": _share(profit, oracle.totals["profit"]) if oracle else None,
                    "target_acos": target,
                    "acos_vs_target": round(acos - target, 4) if acos is not None else None,
                    "changes_applied": sum(
                        s.get("applied", 0) for s in arm.changes_by_rule.values()
                    )
                    + arm.bid_writes,
                    "review_items": sum(arm.reviews_by_kind.values()),
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        """The whole result as JSON-native data (dates as ISO strings)."""
        return {
            "spec": asdict(self.spec),
            "target_acos": self.target_acos,
            "window": _window(self.arms),
            "comparison": self.comparison(),
            "impact": {
                "reference": reference.name if (reference := reference_arm(self)) else None,
                "campaigns": campaign_impact(self),
                "rules": rule_impact(self),
            },
            "arms": [_arm_json(a) for a in self.arms],
        }


def _share(profit: float, oracle_profit: float) -> float | None:
    # A share of a loss means nothing: with a non-positive oracle there is no upper limit to share.
    return round(profit / oracle_profit, 4) if oracle_profit > 0 else None


def _window(arms: Sequence[ArmResult]) -> dict[str, str | None]:
    days = arms[0].daily if arms else []
    return {
        "first": days[0]["date"].isoformat() if days else None,
        "last": days[-1]["date"].isoformat() if days else None,
    }


def _arm_json(arm: ArmResult) -> dict[str, Any]:
    return {
        "name": arm.name,
        "kind": arm.kind,
        "rules_dir": arm.rules_dir,
        "margin_target": arm.margin_target,
        "target_acos": arm.target_acos,
        "totals": arm.totals,
        "changes_by_rule": arm.changes_by_rule,
        "reviews_by_kind": arm.reviews_by_kind,
        "review_decisions": arm.decisions,
        "cycles": arm.cycles,
        "oracle_bid_writes": arm.bid_writes,
        "currency": arm.currency,
        "rule_targets": {rule: len(targets) for rule, targets in arm.rule_targets.items()},
        "daily": [{**row, "date": row["date"].isoformat()} for row in arm.daily],
    }


def arms_for(
    rules_dir: Path, baselines: Sequence[str], *, margin_target: float | None = None
) -> list[ArmSpec]:
    """The arms to run: the rule set first, then each baseline (``none``, ``oracle`` or a folder).

    A folder baseline is named ``baseline:<folder name>`` so the report tells it from the rules.
    ``margin_target`` applies to every rule folder alike, so two rule sets compare on the same
    targets.
    """
    arms = [ArmSpec("rules", "rules", rules_dir, margin_target)]
    for baseline in dict.fromkeys(baselines):
        if baseline in ("none", "oracle"):
            arms.append(ArmSpec(baseline, baseline))  # type: ignore[arg-type]
            continue
        folder = Path(baseline)
        if not folder.is_dir():
            raise AgentError(f"baseline {baseline!r} is neither none, oracle nor a rule folder")
        arms.append(ArmSpec(f"baseline:{folder.name}", "rules", folder, margin_target))
    return arms


def run_backtest(
    settings: Settings,
    spec: BacktestSpec,
    arms: Sequence[ArmSpec],
    *,
    on_day: DayCallback | None = None,
    workdir: Path | None = None,
) -> BacktestResult:
    """Run every arm over the same simulated days; folders are temporary unless ``workdir``."""
    if spec.days < 1:
        raise AgentError("a backtest needs at least one day")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise AgentError(f"arm names must be unique: {names}")
    with tempfile.TemporaryDirectory(prefix="bidagent-backtest-") as scratch:
        root = workdir or Path(scratch)
        results = [
            run_arm(settings, spec, arm, root / f"arm{n}", on_day) for n, arm in enumerate(arms)
        ]
    return BacktestResult(spec=spec, target_acos=settings.default_target_acos, arms=results)
