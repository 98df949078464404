"""What the console's Rules pages show, gathered once for the HTML pages and the JSON API.

The list: every rule the rules folder loads (file, line, file hash, entity, action, priority,
schedule) with its last cycle's counts, per profile: the plan's matched / proposed / skipped
(``cycle_rules``) beside the current status of the changes it made (applied, held, and the
rest); with all profiles shown, the counts add each profile's last cycle of the rule. Beside
them: the folder's errors and warnings as the loader finds them now (conflict warnings are the
warnings), and the daemon's last rejected reload, which the daemon records as the open
``rules`` review item (its evidence lists the problems; a later clean reload resolves it).
Rules that cycles ran but the files no longer hold are listed apart ("former"); when the files
do not load at all, the rules of the last cycles are listed from their records.

One rule: the same entry, its newest cycles and its file's YAML (read-only, see
:mod:`bidagent.console.rule_files`). It must not render nor write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from bidagent.agent.review.rule_items import rules_review_key
from bidagent.console.rule_files import (
    RuleFileText,
    check_rules_dir,
    display_name,
    read_rule_file,
)
from bidagent.engine import LoadedRule
from bidagent.errors import RuleProblem
from bidagent.store import CycleRecord, ReviewItemRecord, Session
from bidagent.store.profile_status import ProfileStatus, profile_statuses
from bidagent.store.review_items import open_item
from bidagent.store.rule_runs import (
    RuleRunRecord,
    change_statuses_by_rule,
    latest_rule_runs,
    rule_run_history,
)

__all__ = [
    "HistoryRow",
    "LastRun",
    "Problem",
    "RuleCounts",
    "RuleDetail",
    "RuleEntry",
    "RulesView",
    "rule_detail",
    "rules_view",
]

HISTORY_CYCLES = 30


@dataclass(frozen=True)
class RuleCounts:
    """One rule's counts in one or more cycles: the plan's, and its changes' statuses now."""

    matched: int = 0
    proposed: int = 0
    skipped: int = 0
    alerts: int = 0
    statuses: dict[str, int] = dc_field(default_factory=dict)
    skips: dict[str, int] = dc_field(default_factory=dict)

    @property
    def applied(self) -> int:
        """Changes applied (and still so)."""
        return self.statuses.get("applied", 0)

    @property
    def held(self) -> int:
        """Changes waiting for a person."""
        return self.statuses.get("held", 0)

    @property
    def others(self) -> dict[str, int]:
        """The statuses other than applied and held."""
        return {k: v for k, v in sorted(self.statuses.items()) if k not in ("applied", "held")}

    def plus(self, other: RuleCounts) -> RuleCounts:
        """Both added up."""

        def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}

        return RuleCounts(
            self.matched + other.matched,
            self.proposed + other.proposed,
            self.skipped + other.skipped,
            self.alerts + other.alerts,
            add(self.statuses, other.statuses),
            add(self.skips, other.skips),
        )


def _counts(run: RuleRunRecord, statuses: dict[str, int]) -> RuleCounts:
    return RuleCounts(
        run.matched, run.proposed, run.skipped, run.alerts, dict(statuses), dict(run.skips or {})
    )


@dataclass(frozen=True)
class LastRun:
    """A rule's newest cycle in one profile."""

    profile_id: str
    cycle_id: int
    rule_hash: str | None
    note: str | None  # why the rule did not run (stale data), if it did not
    counts: RuleCounts


@dataclass(frozen=True)
class Problem:
    """A loader problem, with its file named inside the rules folder."""

    file: str
    line: int
    col: int
    message: str
    rule: str | None
    severity: str


@dataclass(frozen=True)
class RuleEntry:
    """One rule as the list shows it; the definition fields are None for a rule known only
    from its cycle records (``loaded`` False)."""

    name: str
    file: str | None
    file_hash: str | None
    loaded: bool
    line: int | None = None
    description: str = ""
    entity: str | None = None
    action: str | None = None
    field: str | None = None
    priority: int | None = None
    enabled: bool | None = None
    schedule: str | None = None
    until: str | None = None
    last: list[LastRun] = dc_field(default_factory=list)
    totals: RuleCounts = dc_field(default_factory=RuleCounts)
    problems: list[Problem] = dc_field(default_factory=list)

    @property
    def hash_changed(self) -> bool:
        """The file changed since a last cycle ran this rule (that cycle ran an older text)."""
        return self.loaded and any(run.rule_hash != self.file_hash for run in self.last)


@dataclass(frozen=True)
class RulesView:
    """The Rules page."""

    rules_dir: str
    loaded: bool
    ruleset_hash: str | None
    rules: list[RuleEntry]
    former: list[RuleEntry]
    errors: list[Problem]
    warnings: list[Problem]
    reload_item: ReviewItemRecord | None
    profiles: list[ProfileStatus]
    profile_id: str | None

    @property
    def running_hashes(self) -> dict[str, str | None]:
        """Each profile's newest cycle's rule-set hash (the set the daemon ran last)."""
        return {p.profile_id: p.last_cycle.ruleset_hash for p in self.profiles if p.last_cycle}


@dataclass(frozen=True)
class HistoryRow:
    """The rule in one of its cycles."""

    cycle: CycleRecord
    counts: RuleCounts
    note: str | None
    rule_hash: str | None


@dataclass(frozen=True)
class RuleDetail:
    """One rule's page."""

    entry: RuleEntry
    history: list[HistoryRow]
    source: RuleFileText | None
    file_problems: list[Problem]
    view: RulesView


def _problem(rules_dir: Path, p: RuleProblem) -> Problem:
    return Problem(display_name(rules_dir, p.file), p.line, p.col, p.message, p.rule, p.severity)


def _entry(
    rules_dir: Path, rule: LoadedRule | None, runs: list[LastRun], problems: list[Problem],
    *, name: str, file: str | None, file_hash: str | None,
) -> RuleEntry:  # fmt: skip
    totals = RuleCounts()
    for run in runs:
        totals = totals.plus(run.counts)
    mine = [p for p in problems if p.rule == name]
    shown = display_name(rules_dir, file) if file else None
    if rule is None:
        return RuleEntry(name, shown, file_hash, False, last=runs, totals=totals, problems=mine)
    spec = rule.rule
    return RuleEntry(
        name, shown, rule.file_hash, True, rule.line, spec.description, spec.entity, rule.action,
        rule.field, spec.priority, spec.enabled, spec.schedule, spec.until, runs, totals, mine,
    )  # fmt: skip


def rules_view(session: Session, rules_dir: Path, profile_id: str | None) -> RulesView:
    """The Rules page for all profiles (``profile_id`` None) or one."""
    disk = check_rules_dir(rules_dir)
    problems = [_problem(rules_dir, p) for p in disk.problems]
    runs = latest_rule_runs(session, profile_id=profile_id)
    statuses = change_statuses_by_rule(session, {r.cycle_id for r in runs})
    by_rule: dict[str, list[LastRun]] = defaultdict(list)
    newest: dict[str, RuleRunRecord] = {}
    for run in runs:
        counts = _counts(run, statuses.get((run.cycle_id, run.rule_name), {}))
        by_rule[run.rule_name].append(
            LastRun(run.profile_id, run.cycle_id, run.rule_hash, run.note, counts)
        )
        if run.rule_name not in newest or newest[run.rule_name].cycle_id < run.cycle_id:
            newest[run.rule_name] = run
    loaded = disk.rule_set.rules if disk.rule_set is not None else []
    rules = [
        _entry(rules_dir, r, by_rule.get(r.name, []), problems, name=r.name, file=r.file,
               file_hash=r.file_hash)
        for r in loaded
    ]  # fmt: skip
    names = {r.name for r in loaded}
    former = [
        _entry(rules_dir, None, by_rule[name], problems, name=name, file=run.rule_file,
               file_hash=run.rule_hash)
        for name, run in sorted(newest.items())
        if name not in names
    ]  # fmt: skip
    return RulesView(
        rules_dir=str(rules_dir),
        loaded=disk.rule_set is not None,
        ruleset_hash=disk.rule_set.hash if disk.rule_set is not None else None,
        rules=rules,
        former=former,
        errors=[p for p in problems if p.severity == "error"],
        warnings=[p for p in problems if p.severity != "error"],
        reload_item=open_item(session, rules_review_key(rules_dir)),
        profiles=profile_statuses(session),
        profile_id=profile_id,
    )


def rule_detail(
    session: Session, rules_dir: Path, name: str, profile_id: str | None
) -> RuleDetail | None:
    """One rule's page, or None when neither the files nor any cycle know the rule."""
    view = rules_view(session, rules_dir, profile_id)
    entry = next((e for e in (*view.rules, *view.former) if e.name == name), None)
    if entry is None:
        return None
    history_runs = rule_run_history(session, name, profile_id=profile_id, limit=HISTORY_CYCLES)
    statuses = change_statuses_by_rule(session, {run.cycle_id for run, _ in history_runs})
    history = [
        HistoryRow(cycle, _counts(run, statuses.get((run.cycle_id, name), {})), run.note,
                   run.rule_hash)
        for run, cycle in history_runs
    ]  # fmt: skip
    source = read_rule_file(rules_dir, entry.file) if entry.file else None
    file_problems = [
        p for p in (*view.errors, *view.warnings) if entry.file and p.file == entry.file
    ]
    return RuleDetail(entry, history, source, file_problems, view)
