"""One arm of a backtest: a fresh sandbox world driven day by day under one policy.

Owns the three policies a backtest compares (a rule set through the real agent cycle; ``none``,
which never changes a bid; ``oracle``, which sets every target's profit-maximising bid from the
hidden truths) and the true measurement of what each arm earned, read from the sandbox's own
accounting. Every arm gets its own temporary ledger and sandbox state file generated from the same
seed and scenario and advanced one day at a time, so the arms see the same market and the same
random draws; only the bids differ.

It must not render anything and must not touch the user's ledger, sandbox or webhooks: the arm's
settings point every file into the arm's folder and drop notification targets.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl

from bidagent.ads.models import EntityUpdate
from bidagent.agent.backtest.margin_targets import margin_target_profile
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_sets import applier_for
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.review.decisions import decide
from bidagent.engine import RuleSet, load_rule_set
from bidagent.errors import AgentError
from bidagent.marketplaces import marketplace_for
from bidagent.sandbox import Sandbox
from bidagent.settings import AdsSettings, DatabaseSettings, NotifySettings, Settings
from bidagent.store import Session
from bidagent.store.ledger_summary import (
    cycle_outcomes,
    item_kinds_and_statuses,
    rule_status_pairs,
    rule_targets,
)
from bidagent.store.review_items import held_item_ids, list_items
from bidagent.vocabulary import UpdateKind

__all__ = ["ArmResult", "ArmSpec", "BacktestSpec", "DayCallback", "arm_settings", "run_arm"]

ArmKind = Literal["rules", "none", "oracle"]
ReviewPolicy = Literal["approve", "reject"]
DayCallback = Callable[[str, int], None]  # (arm name, simulated days done)
# The fake API runs in process: the client's per-profile rate limit only adds sleeps here.
_SANDBOX_REQUESTS_PER_SECOND = 10_000.0
# The sandbox oracle's kinds, as the client's update kinds.
_UPDATE_KIND: dict[str, UpdateKind] = {"keyword": "keyword", "target": "product_target"}
_SANDBOX_KIND: dict[str, str] = {v: k for k, v in _UPDATE_KIND.items()}


@dataclass(frozen=True)
class BacktestSpec:
    """The world every arm replays: sandbox seed, scenario, size, and how long to run."""

    days: int = 60
    seed: int = 7
    scenario: str = "steady"
    targets: int = 300
    history_days: int = 60
    review_policy: ReviewPolicy = "reject"


@dataclass(frozen=True)
class ArmSpec:
    """One policy to run: a rule folder (``rules``), ``none`` or ``oracle``."""

    name: str
    kind: ArmKind
    rules_dir: Path | None = None
    # Each campaign's target ACoS = this fraction of its products' margin (see
    # bidagent.agent.backtest.margin_targets); None keeps the settings' target ACoS for every campaign.
    margin_target: float | None = None


@dataclass
class ArmResult:
    """What one arm did and earned over the measured days (true figures, fully attributed)."""

    name: str
    kind: ArmKind
    rules_dir: str | None
    daily: list[dict[str, Any]]
    totals: dict[str, float]
    changes_by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    reviews_by_kind: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    cycles: dict[str, int] = field(default_factory=dict)
    bid_writes: int = 0
    # The fraction of margin and the mean of the campaigns' target ACoS the arm ran with; None
    # when it used the configured target ACoS for every campaign.
    margin_target: float | None = None
    target_acos: float | None = None
    # True profit per keyword or target over the days (kind, entity_id, campaign_id, campaign,
    # spend, sales, profit), and the targets each rule changed, in the sandbox's kinds.
    targets: list[dict[str, Any]] = field(default_factory=list)
    rule_targets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    currency: str = "USD"


def _sandbox_target(
    kind: str, entity_id: str, field_: str, remote_id: str | None
) -> tuple[str, str] | None:
    """The sandbox target a rule's change acted on: the keyword or target itself, the keyword
    a harvest created, or the source target of the search term a negative blocks
    (``keyword:ID:term``)."""
    if kind == "search_term":
        if field_ == "keyword" and remote_id:
            return ("keyword", remote_id)
        source, _, rest = entity_id.partition(":")
        kind, entity_id = source, rest.partition(":")[0]
    sandbox_kind = _SANDBOX_KIND.get(kind)
    return None if sandbox_kind is None else (sandbox_kind, entity_id)


def _rule_targets(ctx: AgentContext) -> dict[str, list[tuple[str, str]]]:
    with Session(ctx.engine) as session:
        rows = rule_targets(session)
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for rule, kind, entity_id, field_, remote_id in rows:
        target = _sandbox_target(kind, entity_id, field_, remote_id)
        if target is not None:
            out[rule].add(target)
    return {rule: sorted(found) for rule, found in sorted(out.items())}


def arm_settings(settings: Settings, spec: BacktestSpec, folder: Path, rules_dir: Path) -> Settings:
    """The user's settings (guardrails, target ACoS, review expiry) re-pointed at ``folder``.

    The global mode is ``apply``: a backtest shows what the rules would do once turned on (rules
    that ask for review still hold their changes for the review policy). Profiles are dropped
    because the sandbox's profile ids are not the user's, and webhooks because a simulated review
    item must never page anyone.
    """
    sandbox = settings.sandbox.model_copy(
        update={
            "seed": spec.seed,
            "scenario": spec.scenario,
            "targets": spec.targets,
            "history_days": spec.history_days,
            "state_path": folder / "sandbox.db",
            "faults": {},
        }
    )
    ads = AdsSettings(
        source="sandbox",
        requests_per_second=_SANDBOX_REQUESTS_PER_SECOND,
        restate_days=settings.ads.restate_days,
        history_days=settings.ads.history_days,
    )
    return settings.model_copy(
        update={
            "mode": "apply",
            "rules_dir": rules_dir,
            "database": DatabaseSettings(url=f"sqlite:///{folder}/ledger.db"),
            "ads": ads,
            "profiles": [],
            "notify": NotifySettings(),
            "sandbox": sandbox,
        }
    )


def _decide_open_items(ctx: AgentContext, policy: ReviewPolicy) -> None:
    """Decide every open review item: held changes by the policy, the rest (alerts) resolved."""
    with Session(ctx.engine) as session:
        items = [i.id for i in list_items(session, status="open") if i.id is not None]
        holding = held_item_ids(session, items)
    with_changes = [i for i in items if i in holding]
    alerts = [i for i in items if i not in holding]
    note = f"backtest review policy: {policy}"
    if with_changes:
        decide(
            ctx.engine, with_changes, policy, by="backtest", note=note, now=ctx.now(),
            applier=applier_for(ctx),
        )  # fmt: skip
    if alerts:
        decide(ctx.engine, alerts, "resolve", by="backtest", note=note, now=ctx.now())


def _set_oracle_bids(ctx: AgentContext, box: Sandbox, profile_id: str) -> int:
    """Send each target's profit-maximising bid for today through the real client; count sends."""
    oracle = box.oracle
    current = oracle.truths(profile_id).select("kind", "entity_id", "bid")
    best = oracle.optimal_bids(box.today(profile_id), profile_id).join(
        current, on=["kind", "entity_id"], how="left"
    )
    moved = best.filter(
        pl.col("bid").is_null() | ((pl.col("bid") - pl.col("optimal_bid")).abs() > 0.005)
    )
    sent = 0
    for kind, rows in moved.group_by("kind"):
        updates = [
            EntityUpdate(entity_id=row["entity_id"], bid=Decimal(f"{row['optimal_bid']:.2f}"))
            for row in rows.iter_rows(named=True)
        ]
        results = ctx.client.update(profile_id, _UPDATE_KIND[str(kind[0])], updates)
        refused = [r for r in results if r.outcome != "applied"]
        if refused:
            raise AgentError(f"oracle arm: {len(refused)} bid update(s) refused: {refused[0]}")
        sent += len(updates)
    return sent


def _ledger_counts(ctx: AgentContext) -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, int], dict[str, int]]:  # fmt: skip
    with Session(ctx.engine) as session:
        changes: dict[str, dict[str, int]] = defaultdict(dict)
        pairs = Counter(rule_status_pairs(session))
        for (rule, status), n in sorted(pairs.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            changes[rule or "(none)"][status] = n
        items = item_kinds_and_statuses(session)
        cycles = Counter(cycle_outcomes(session))
    kinds = Counter(kind for kind, _ in items)
    decided = Counter(status for _, status in items)
    return dict(changes), dict(sorted(kinds.items())), dict(sorted(decided.items())), dict(cycles)


def measure(box: Sandbox, profile_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """True per-day figures over ``first..last`` from the sandbox's own accounting."""
    frame = box.oracle.daily_profit(first, last, profile_id)
    rows = []
    for row in frame.iter_rows(named=True):
        spend, sales = float(row["spend"]), float(row["sales"])
        row["acos"] = round(spend / sales, 4) if sales else None
        row["roas"] = round(sales / spend, 4) if spend else None
        rows.append(row)
    return rows


def _run_days(
    ctx: AgentContext, box: Sandbox, arm: ArmSpec, spec: BacktestSpec, rule_set: RuleSet | None,
    on_day: DayCallback | None,
) -> int:  # fmt: skip
    profile_id = box.profiles[0]
    writes = 0
    for day in range(spec.days):
        if arm.kind == "rules":
            assert rule_set is not None
            run_cycle(ctx, profile_id, rule_set, trigger="backtest")
            _decide_open_items(ctx, spec.review_policy)
        elif arm.kind == "oracle":
            writes += _set_oracle_bids(ctx, box, profile_id)
        box.advance(days=1)
        if on_day is not None:
            on_day(arm.name, day + 1)
    return writes


def run_arm(
    settings: Settings,
    spec: BacktestSpec,
    arm: ArmSpec,
    folder: Path,
    on_day: DayCallback | None = None,
) -> ArmResult:
    """Run one arm for ``spec.days`` simulated days in ``folder`` and measure it."""
    folder.mkdir(parents=True, exist_ok=True)
    rules_dir = arm.rules_dir or settings.rules_dir
    rule_set = load_rule_set([rules_dir]) if arm.kind == "rules" else None
    own = arm_settings(settings, spec, folder, rules_dir)
    box = Sandbox.from_settings(own)
    try:
        profile_id = box.profiles[0]
        first = box.today(profile_id)
        target_acos = None
        if arm.kind == "rules" and arm.margin_target is not None:
            profile = margin_target_profile(box, profile_id, arm.margin_target)
            own = own.model_copy(update={"profiles": [profile]})
            targets = list(profile.campaign_target_acos.values())
            target_acos = round(sum(targets) / len(targets), 4) if targets else None
        with AgentContext.open(own, sandbox=box, create_ledger=True) as ctx:
            writes = _run_days(ctx, box, arm, spec, rule_set, on_day)
            changes, kinds, decided, cycles = _ledger_counts(ctx)
            touched = _rule_targets(ctx)
            ctx.engine.dispose()
        last = first + timedelta(days=spec.days - 1)
        daily = measure(box, profile_id, first, last)
        profits = box.oracle.target_profit(first, last, profile_id).to_dicts()
        currency = marketplace_for(box.profile_rows()[0]["country"]).currency_code
    finally:
        box.close()
    return ArmResult(
        name=arm.name,
        kind=arm.kind,
        rules_dir=str(rules_dir) if arm.kind == "rules" else None,
        daily=daily,
        totals=totals_of(daily),
        changes_by_rule=changes,
        reviews_by_kind=kinds,
        decisions=decided,
        cycles=cycles,
        bid_writes=writes,
        margin_target=arm.margin_target if target_acos is not None else None,
        target_acos=target_acos,
        targets=profits,
        rule_targets=touched,
        currency=currency,
    )


def totals_of(daily: list[dict[str, Any]]) -> dict[str, float]:
    """Sums over the days, with ACoS and ROAS from the sums (null without a denominator)."""
    sums = {
        key: sum(float(row[key]) for row in daily)
        for key in ("impressions", "clicks", "spend", "orders", "sales", "profit")
    }
    totals: dict[str, Any] = {k: round(v, 2) for k, v in sums.items()}
    totals["impressions"], totals["clicks"], totals["orders"] = (
        int(sums["impressions"]), int(sums["clicks"]), int(sums["orders"]),
    )  # fmt: skip
    totals["acos"] = round(sums["spend"] / sums["sales"], 4) if sums["sales"] else None
    totals["roas"] = round(sums["sales"] / sums["spend"], 4) if sums["spend"] else None
    return totals
