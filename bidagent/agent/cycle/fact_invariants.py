"""After a report sync: hold the search-term rules when the stored facts break an invariant.

Per day and ad group, search-term clicks and cost never exceed targeting clicks and cost
(``bidagent.store.fact_checks``). When they do, the search-term facts are not true: negate and
harvest rules would act on clicks that never happened. The cycle then opens a ``data`` review
item and withholds the search-term source's pulled days from the recorded coverage, so the
engine's freshness guardrail skips every search-term rule of the profile for this cycle (bid,
budget and state rules on targets and campaigns go on). A later clean pull covers the days again.

It must not read reports nor decide freshness (the engine does).
"""

from __future__ import annotations

from datetime import date, datetime

import structlog

from bidagent.agent.review.escalation import escalate_data_problem
from bidagent.store import Engine, session_scope
from bidagent.store.fact_checks import search_term_excess
from bidagent.vocabulary import ReportSource

__all__ = ["withheld_sources"]

log = structlog.get_logger(__name__)

SHOWN = 5  # days and ad groups named in the review item's evidence


def withheld_sources(
    engine: Engine, profile_id: str, start: date, end: date, *, now: datetime
) -> tuple[ReportSource, ...]:
    """The report sources whose days ``start..end`` must not count as covered: the search
    terms when they exceed the targets somewhere (a ``data`` review item says where)."""
    excess = search_term_excess(engine, profile_id, start, end)
    if not excess:
        return ()
    first = excess[0]
    log.error("search_term_facts_inflated", profile_id=profile_id, groups=len(excess),
              date=first.date.isoformat(), ad_group_id=first.ad_group_id)  # fmt: skip
    with session_scope(engine) as session:
        escalate_data_problem(
            session,
            profile_id=profile_id,
            key="facts:search_terms_exceed_targets",
            summary=(
                f"search-term clicks or cost exceed the targeting report's in {len(excess)} "
                f"day/ad group(s) of {start}..{end} (e.g. {first.date} ad group "
                f"{first.ad_group_id}: {first.term_clicks} clicks vs {first.target_clicks}); "
                "search-term rules are held"
            ),
            evidence={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "count": len(excess),
                "examples": [
                    {
                        "date": e.date.isoformat(),
                        "ad_group_id": e.ad_group_id,
                        "term_clicks": e.term_clicks,
                        "target_clicks": e.target_clicks,
                        "term_cost": e.term_cost,
                        "target_cost": e.target_cost,
                    }
                    for e in excess[:SHOWN]
                ],
            },
            now=now,
        )
    return ("search_terms",)
