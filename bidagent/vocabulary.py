"""The words engine/, ads/, agent/ and cli/ share: entity kinds, the API call a change needs, money
fields, report sources, and the spelling of a review item's dedupe key.

Owns one definition of each closed set of names as a ``Literal`` type, with its values derived by
``typing.get_args`` so the type and the runtime set cannot drift. Two entity vocabularies, on
purpose: :data:`RuleEntity` is what a rule's ``entity:`` names (``target`` covers keywords and
product targets; ``search_term`` is a report row, not an API object), :data:`EntityKind` is what the
Ads API reads and writes. It imports only the standard library (a test holds it to that) so every
layer can import it, and it must not hold behaviour beyond spelling: no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ARCHIVE_KINDS",
    "CREATE_KINDS",
    "ENTITY_KINDS",
    "MAX_DEDUPE_KEY",
    "MONEY_FIELDS",
    "REPORT_SOURCES",
    "RULE_ENTITIES",
    "RULE_ENTITY_KINDS",
    "TARGET_KINDS",
    "UPDATE_KINDS",
    "ApiCall",
    "Archive",
    "ArchiveKind",
    "Create",
    "CreateKind",
    "EntityKind",
    "MoneyField",
    "ReportSource",
    "RuleEntity",
    "TargetKind",
    "Update",
    "UpdateKind",
    "is_asin",
    "make_dedupe_key",
]

# What a rule's ``entity:`` names (the rule format; rules/schema.json lists them in this order).
RuleEntity = Literal["keyword", "product_target", "target", "ad_group", "campaign", "search_term"]
RULE_ENTITIES: tuple[RuleEntity, ...] = get_args(RuleEntity)

# The SP v3 entities the Ads API reads and writes.
EntityKind = Literal[
    "campaign",
    "ad_group",
    "keyword",
    "product_target",
    "negative_keyword",
    "campaign_negative_keyword",
]
ENTITY_KINDS: tuple[EntityKind, ...] = get_args(EntityKind)

TargetKind = Literal["keyword", "product_target"]
TARGET_KINDS: tuple[TargetKind, ...] = get_args(TargetKind)

# Which concrete row kinds (``entity_kind`` of the engine's frames) a rule's ``entity`` covers.
RULE_ENTITY_KINDS: dict[str, tuple[RuleEntity, ...]] = {
    "keyword": ("keyword",),
    "product_target": ("product_target",),
    "target": TARGET_KINDS,
    "ad_group": ("ad_group",),
    "campaign": ("campaign",),
    "search_term": ("search_term",),
}

# The entities an absolute update can change, and the ones a change can create.
UpdateKind = Literal["keyword", "product_target", "campaign", "ad_group"]
UPDATE_KINDS: frozenset[UpdateKind] = frozenset(get_args(UpdateKind))
CreateKind = Literal["keyword", "negative_keyword", "campaign_negative_keyword"]
CREATE_KINDS: frozenset[CreateKind] = frozenset(get_args(CreateKind))
# The entities a revert archives (SP v3 archives with ``POST /sp/<entity>/delete``; it is final).
ArchiveKind = Literal["keyword", "product_target", "negative_keyword", "campaign_negative_keyword"]
ARCHIVE_KINDS: frozenset[ArchiveKind] = frozenset(get_args(ArchiveKind))

# Change fields that hold money (compared as Decimal, rounded to the marketplace step).
MoneyField = Literal["bid", "budget", "default_bid"]
MONEY_FIELDS: frozenset[MoneyField] = frozenset(get_args(MoneyField))

# The three reports a cycle pulls, by the name their days are recorded under.
ReportSource = Literal["targets", "search_terms", "campaigns"]
REPORT_SOURCES: tuple[ReportSource, ...] = get_args(ReportSource)


@dataclass(frozen=True)
class Update:
    """An absolute update of existing ``kind`` entities (``AdsClient.update``)."""

    kind: UpdateKind

    def __str__(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Create:
    """The creation of new ``kind`` entities (``AdsClient.create``)."""

    kind: CreateKind

    def __str__(self) -> str:
        return f"create:{self.kind}"


@dataclass(frozen=True)
class Archive:
    """The archiving of existing ``kind`` entities (``AdsClient.archive``): how a revert undoes
    an entity bidagent created."""

    kind: ArchiveKind

    def __str__(self) -> str:
        return f"archive:{self.kind}"


# The client call a change needs; ``str()`` of it is the label log lines carry.
ApiCall = Update | Create | Archive

# Amazon's ASIN format: "B0" and 8 letters or digits, or a 10-character ISBN-10 (books).
_ASIN = re.compile(r"^(?:[bB]0[0-9A-Za-z]{8}|[0-9]{9}[0-9Xx])$")


def is_asin(text: str) -> bool:
    """Whether ``text`` (stripped) is an ASIN, as in a search term that names a product."""
    return _ASIN.fullmatch(text.strip()) is not None


MAX_DEDUPE_KEY = 512  # ReviewItemRecord.dedupe_key's column width


def make_dedupe_key(kind: str, *parts: object) -> str:
    """``kind:part:part...`` with ``None`` parts left empty; hashed when too long for the column.

    Every review item's key is spelled here: the text is stored and matched against open items, so
    it must not change from one version to the next.
    """
    key = ":".join([kind, *("" if p is None else str(p) for p in parts)])
    if len(key) <= MAX_DEDUPE_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_DEDUPE_KEY - 65]}#{digest}"
