"""When dayparting rules need the daemon: the local times at which a period opens or closes.

The daemon turns each time into a daily job per profile; this module only reads the rule set.
"""

from __future__ import annotations

from datetime import timedelta

from bidagent.engine import RuleSet

__all__ = ["daypart_times"]


def daypart_times(rule_set: RuleSet) -> list[tuple[int, int]]:
    """Local (hour, minute) pairs at which some enabled dayparting period opens or closes.

    Each becomes a daily job: on days a cron does not fire, the run finds nothing to change,
    which is cheaper and safer than translating day-of-month/weekday fields into triggers.
    """
    times: set[tuple[int, int]] = set()
    for rule in rule_set.rules:
        if not rule.rule.enabled or rule.schedule is None:
            continue
        starts = {(h, m) for h in rule.schedule.hours for m in rule.schedule.minutes}
        times |= starts
        if isinstance(rule.until, timedelta):
            for h, m in starts:
                end = (h * 60 + m + int(rule.until.total_seconds()) // 60) % (24 * 60)
                times.add(divmod(end, 60))
        elif rule.until is not None:
            times |= {(h, m) for h in rule.until.hours for m in rule.until.minutes}
    return sorted(times)
