"""The guardrail pipeline: its steps, in order, and the names other modules import from it."""

from __future__ import annotations

import bidagent.engine.guardrails as guardrails
from bidagent.engine.guardrails import PIPELINE


def test_pipeline_runs_the_steps_in_the_documented_order() -> None:
    """Cooldown, blast radius, conflicts, circuit breaker, approvals, then the safety mode."""
    assert [(step.__module__.rsplit(".", 1)[-1], step.__name__) for step in PIPELINE] == [
        ("cooldown", "check_cooldowns"),
        ("blast_radius", "limit_blast_radius"),
        ("conflicts", "resolve_conflicts"),
        ("circuit_breaker", "trip_circuit_breaker"),
        ("approvals", "hold_approvals"),
        ("safety_mode", "apply_modes"),
    ]


def test_package_keeps_its_public_names() -> None:
    """What evaluate, tests and the agent import is still importable from the package."""
    assert sorted(guardrails.__all__) == [
        "GuardrailState",
        "History",
        "PCT_FLOOR",
        "PIPELINE",
        "Step",
        "apply_guardrails",
        "settings_cooldown",
        "strictest_mode",
    ]
    assert all(hasattr(guardrails, name) for name in guardrails.__all__)
