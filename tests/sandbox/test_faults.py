"""Fault injection: throttles, 5xx, gateway 401, timeouts after apply, token expiry, config."""

from __future__ import annotations

import httpx
import pytest

from bidagent.errors import SandboxError
from bidagent.sandbox import Sandbox
from bidagent.sandbox.faults import EndpointFaults, FaultConfig, FaultInjector
from tests.sandbox.conftest import KEYWORD_TYPE, make_calls


def test_scripted_throttles_and_errors(sandbox: Sandbox) -> None:
    """A script yields 429 with Retry-After, 429 without, 500, 503, then normal answers."""
    script = ("throttle", "throttle_no_retry_after", "error_500", "error_503", "ok")
    faults = FaultConfig(
        endpoints={"POST /sp/keywords/list": EndpointFaults(script=script)}, retry_after_s=3
    )
    amazon = make_calls(sandbox, faults)
    answers = [amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE) for _ in script]
    assert [a.status_code for a in answers] == [429, 429, 500, 503, 200]
    assert answers[0].headers["Retry-After"] == "3"
    assert "Retry-After" not in answers[1].headers
    assert answers[0].json() == {"code": "THROTTLED", "message": "Too Many Requests"}
    assert answers[0].headers["amazon-advertising-api-throttled"] == "true"


def test_timeout_after_apply_applies_once(sandbox: Sandbox) -> None:
    """The change commits, then the client sees ReadTimeout; the write log has it exactly once."""
    faults = FaultConfig(
        endpoints={"PUT /sp/keywords": EndpointFaults(script=("timeout_after_apply",))}
    )
    amazon = make_calls(sandbox, faults)
    kid = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE).json()["keywords"][0][
        "keywordId"
    ]
    with pytest.raises(httpx.ReadTimeout):
        amazon.sp(
            "PUT", "/sp/keywords", {"keywords": [{"keywordId": kid, "bid": 0.61}]}, KEYWORD_TYPE
        )
    listed = amazon.sp(
        "POST", "/sp/keywords/list", {"keywordIdFilter": {"include": [kid]}}, KEYWORD_TYPE
    ).json()["keywords"][0]
    assert listed["bid"] == 0.61
    assert [(w.entity_id, w.new) for w in sandbox.write_log()] == [(kid, 0.61)]


def test_token_expires_after_n_calls(sandbox: Sandbox) -> None:
    """expire_token_after=2: the second Ads call is refused 401 with the old token."""
    amazon = make_calls(sandbox, FaultConfig(expire_token_after=2))
    first = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE)
    second = amazon.sp("POST", "/sp/keywords/list", {}, KEYWORD_TYPE)
    assert (first.status_code, second.status_code) == (200, 401)


def test_probabilities_are_deterministic_for_a_seed() -> None:
    """Two injectors with one seed make the same decisions; '*' covers every API path."""
    config = FaultConfig.from_dict(
        {"seed": 5, "endpoints": {"*": {"throttle": 0.3, "error_500": 0.2}}}
    )
    runs = [
        [FaultInjector(config).decide("PUT", "/sp/keywords").outcome for _ in range(1)]
        for _ in range(2)
    ]
    a, b = FaultInjector(config), FaultInjector(config)
    decisions = [
        (a.decide("GET", "/v2/profiles").outcome, b.decide("GET", "/v2/profiles").outcome)
        for _ in range(50)
    ]
    assert runs[0] == runs[1]
    assert all(x == y for x, y in decisions)
    assert {x for x, _ in decisions} == {"ok", "throttle", "error_500"}
    assert FaultInjector(config).decide("GET", "/_sandbox/state").outcome == "ok"


def test_fault_config_rejects_unknown_keys() -> None:
    """A misspelt fault setting is an error naming it, not silently ignored."""
    with pytest.raises(SandboxError, match="throtle"):
        FaultConfig.from_dict({"endpoints": {"*": {"throtle": 0.5}}})
    with pytest.raises(SandboxError, match="boom"):
        FaultConfig.from_dict({"report_script": ["boom"]})
