"""The engine's guardrail configuration as rule tests build it from config-file spellings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bidagent.engine.config import GuardrailConfig


def test_durations_are_parsed_and_the_rest_defaults() -> None:
    """``cooldown: 6h`` becomes a timedelta; keys not given keep the TOML defaults."""
    parsed = GuardrailConfig.from_mapping({"cooldown": "6h", "max_changes_per_cycle": 3})
    assert parsed == GuardrailConfig(cooldown=timedelta(hours=6), max_changes_per_cycle=3)


@pytest.mark.parametrize(
    "bad",
    [{"cooldwn": "3d"}, {"settle": "2 days"}, {"max_step": -0.1}, {"max_changes_pct": 11}],
)
def test_unknown_keys_and_bad_values_are_refused(bad: dict[str, object]) -> None:
    """A misspelt key, a malformed duration or an out-of-range fraction is an error."""
    with pytest.raises(ValueError):
        GuardrailConfig.from_mapping(bad)


def test_a_floor_above_its_ceiling_is_refused() -> None:
    """min_bid over max_bid is an error naming both, as in the configuration file."""
    with pytest.raises(ValueError, match=r"^min_bid \(2.0\) is above max_bid \(1.0\)$"):
        GuardrailConfig.from_mapping({"min_bid": 2, "max_bid": 1})
