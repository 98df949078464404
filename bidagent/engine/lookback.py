"""How many days of daily facts a rule set can read: the agent loads no older facts than that.

Owns the arithmetic "oldest day any enabled rule's windows (``prev_`` ones included) or the data
freshness check reaches, counted back from today". It must not read data or the clock: loading
the facts is the agent's job, and ``today`` never matters because windows are relative to it.
"""

from __future__ import annotations

from datetime import date

from bidagent.engine.evaluate import rule_settle_days
from bidagent.engine.frames import rule_ranges
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.ruleset import RuleSet

__all__ = ["facts_lookback_days"]

_ANY_DAY = date(2000, 1, 1)  # windows are relative to today, so any date gives the same answer


def facts_lookback_days(rule_set: RuleSet, settings: EngineSettings) -> int:
    """Days before today that evaluation can read (at least the ``max_data_age`` check's reach).

    Reading facts from ``today - facts_lookback_days`` on gives the same plan as reading them all
    for every rule that acts on window metrics, at a fraction of the rows.
    """
    reach = settings.guardrails.max_data_age.days + 1
    for rule in rule_set.rules:
        if not rule.rule.enabled:
            continue
        ranges = rule_ranges(rule, _ANY_DAY, rule_settle_days(rule, settings))
        for start, _end in ranges.values():
            reach = max(reach, (_ANY_DAY - start).days)
    return reach
