"""The rule engine: rule files in, a plan out. Pure: no HTTP, no SQL, no wall clock.

``load_rule_set`` / ``check_rule_set`` read and validate rule files; ``evaluate`` turns a rule set,
the profile's frames (:class:`EngineInputs`), its settings and ``now`` into a :class:`Plan`;
``explain`` shows why one rule did or did not change one entity.
"""

from bidagent.engine.evaluate import evaluate
from bidagent.engine.explain import Explanation, explain
from bidagent.engine.inputs import (
    AD_GROUPS_SCHEMA,
    BASE_BIDS_SCHEMA,
    CAMPAIGNS_SCHEMA,
    FACTS_SCHEMA,
    HISTORY_SCHEMA,
    NEGATIVES_SCHEMA,
    REPORT_DATES_SCHEMA,
    SEARCH_TERMS_SCHEMA,
    TARGETS_SCHEMA,
    EngineInputs,
    EngineSettings,
)
from bidagent.engine.loader import check_rule_set, load_rule_set
from bidagent.engine.plan import BaseBidUpdate, Plan, Proposal, ReviewRequest, Skip
from bidagent.engine.ruleset import LoadedRule, RuleSet

__all__ = [
    "AD_GROUPS_SCHEMA",
    "BASE_BIDS_SCHEMA",
    "CAMPAIGNS_SCHEMA",
    "FACTS_SCHEMA",
    "HISTORY_SCHEMA",
    "NEGATIVES_SCHEMA",
    "REPORT_DATES_SCHEMA",
    "SEARCH_TERMS_SCHEMA",
    "TARGETS_SCHEMA",
    "BaseBidUpdate",
    "EngineInputs",
    "EngineSettings",
    "Explanation",
    "LoadedRule",
    "Plan",
    "Proposal",
    "ReviewRequest",
    "RuleSet",
    "Skip",
    "check_rule_set",
    "evaluate",
    "explain",
    "load_rule_set",
]
