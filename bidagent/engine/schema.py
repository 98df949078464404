"""The rule file format as pydantic models: the one source of truth for ``rules/schema.json``.

Owns field names, types, defaults and the shape checks pydantic can do on its own (durations, enums,
exactly one action). It must not compile expressions or look at entities: meaning (names, types,
which action fits which entity) is checked in :mod:`bidagent.engine.validate` with file positions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bidagent.durations import parse_duration
from bidagent.vocabulary import RuleEntity

__all__ = [
    "ACTION_KINDS",
    "MAX_COUNT",
    "MAX_MONEY",
    "RELATIVE_PATTERN",
    "Approval",
    "Harvest",
    "Limits",
    "Review",
    "Rule",
    "RuleFile",
    "Then",
    "days_of",
    "is_relative",
    "rule_file_schema",
]

ACTION_KINDS = ("bid", "budget", "state", "negate", "harvest", "review")
# "-20%", "+5%", "+0.05", "-0.10": relative to the current value. Anything else is an expression.
RELATIVE_PATTERN = r"^[+-][0-9]+(\.[0-9]+)?%?$"
NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
_RELATIVE = re.compile(RELATIVE_PATTERN)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_days(value: str) -> str:
    delta = parse_duration(value)
    if delta.total_seconds() % 86400 or delta < timedelta(days=0):
        raise ValueError(f"bad window {value!r}: windows are whole days, e.g. '14d'")
    return value


def days_of(value: str) -> int:
    """Whole days of a validated day duration such as ``14d``."""
    return parse_duration(value).days


Duration = Annotated[str, AfterValidator(_check_duration)]
Days = Annotated[str, AfterValidator(_check_days)]
# Finite and bounded: a limit of .inf passed the schema once and overflowed at evaluation.
MAX_MONEY = 1_000_000.0  # over every marketplace's largest budget; a limit can only tighten them
MAX_COUNT = 1_000_000
Fraction = Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)]
Expression = Annotated[str, Field(min_length=1, max_length=2000)]
Money = Annotated[float, Field(ge=0.0, le=MAX_MONEY, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Model):
    """Per-rule limits; they can only tighten the configuration and the marketplace limits."""

    min_bid: Money | None = None
    max_bid: Money | None = None
    min_budget: Money | None = None
    max_budget: Money | None = None
    max_step: Fraction | None = Field(
        default=None, description="Largest relative change per cycle, e.g. 0.25 for 25%."
    )
    max_changes: int | None = Field(
        default=None,
        ge=0,
        le=MAX_COUNT,
        description="More changes than this hold the whole batch for review.",
    )
    max_changes_pct: Fraction | None = Field(
        default=None, description="Share of the rule's filtered entities; all or nothing."
    )

    @model_validator(mode="after")
    def _floors_below_ceilings(self) -> Limits:
        for low, high in (("min_bid", "max_bid"), ("min_budget", "max_budget")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} ({lo}) is above {high} ({hi})")
        return self


class Approval(_Model):
    """Changes whose relative step exceeds ``over`` wait for a human instead of being clamped."""

    over: Fraction


Template = Annotated[str, Field(min_length=1, max_length=500)]


class Harvest(_Model):
    """Add a converting search term as a new keyword, or an ASIN term as a new product target."""

    match_type: Literal["exact", "phrase", "broad"] = Field(
        default="exact", description="The new keyword's match type (ASIN terms: not used)."
    )
    bid: Expression | float = Field(description="Expression for the new keyword's bid, e.g. cpc.")
    ad_group: Template | None = Field(
        default=None,
        description=(
            "Destination ad group: an id, an exact name, or a pattern with * and the placeholders "
            "{campaign} and {ad_group} (the source's names). It must match exactly one ad group "
            "of a manual-targeting campaign. Default: '{ad_group}' when 'campaign' is given, else "
            "the source ad group."
        ),
    )
    campaign: Template | None = Field(
        default=None,
        description=(
            "Where to look for 'ad_group': a campaign id, exact name or pattern with the same "
            "placeholders, e.g. '{campaign} Manual'."
        ),
    )
    negate_source: Literal["exact", "phrase", False] = Field(
        default=False,
        description=(
            "Graduate: also negate the term in its source ad group (negative keyword of this "
            "match type; an ASIN term as a negative product target), both or neither."
        ),
    )


class Review(_Model):
    """Only raise a review item; ``message`` may cite names as ``{acos_7d:.2f}``."""

    severity: Literal["info", "warning", "critical"] = "warning"
    message: str = Field(min_length=1, max_length=1000)


class Then(_Model):
    """The action: exactly one kind per rule."""

    bid: Expression | float | None = Field(
        default=None, description="Expression, or relative '-20%' / '+0.05'."
    )
    budget: Expression | float | None = Field(
        default=None, description="Expression, or relative '+20%' / '-5'."
    )
    state: Literal["paused", "enabled"] | None = None
    negate: Literal["exact", "phrase"] | None = None
    level: Literal["ad_group", "campaign"] | None = Field(
        default=None,
        description="Negate only: where the negative keyword or product target goes (ad_group).",
    )
    harvest: Harvest | None = None
    review: Review | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Then:
        kinds = [k for k in ACTION_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(f"exactly one action of {', '.join(ACTION_KINDS)} (found {found})")
        if self.level is not None and kinds[0] != "negate":
            raise ValueError("'level' only applies to 'negate'")
        return self

    @property
    def kind(self) -> str:
        """Which action this is."""
        return next(k for k in ACTION_KINDS if getattr(self, k) is not None)


def is_relative(value: Any) -> bool:
    """True for relative action strings such as ``-20%`` or ``+0.05``."""
    return isinstance(value, str) and bool(_RELATIVE.match(value.strip()))


class Rule(_Model):
    """One rule: which entities, over which window, when, and what to do."""

    name: str = Field(pattern=NAME_PATTERN, max_length=80, description="Unique kebab-case slug.")
    description: str = ""
    entity: RuleEntity
    filter: Expression | None = Field(default=None, description="Which entities the rule sees.")
    window: Days = "14d"
    settle: Days | None = Field(default=None, description="Newest days ignored; default: config.")
    when: Expression = Field(description="Condition, e.g. clicks >= 15 and orders == 0.")
    then: Then
    limits: Limits = Limits()
    cooldown: Duration | None = Field(default=None, description="Default: config guardrails.")
    priority: int = Field(default=0, ge=-1000, le=1000)
    approval: Approval | None = None
    mode: Literal["dry_run", "review", "apply"] | None = None
    enabled: bool = True
    schedule: str | None = Field(
        default=None, description="Cron (profile time zone) when a dayparting period starts."
    )
    until: str | None = Field(
        default=None, description="Cron or duration when the period ends and base bids return."
    )

    @model_validator(mode="after")
    def _schedule_pairs(self) -> Rule:
        if (self.schedule is None) != (self.until is None):
            raise ValueError("'schedule' and 'until' go together")
        return self


class RuleFile(_Model):
    """A rule file: a ``rules:`` list."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "bidagent rule file"},
    )

    rules: list[Rule] = Field(default_factory=list)


def rule_file_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, generated from the models (``bidagent rules schema``)."""
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
