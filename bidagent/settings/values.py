"""The typed values the configuration is made of: durations, times of day, database URLs, faults.

Owns what one value may be, wherever it appears: a duration that parses (and is positive where
zero makes no sense), a time of day written ``HH:MM`` or ``HH:MM:SS`` (never a bare number, which
pydantic would read as seconds after midnight), a database URL for SQLite or PostgreSQL, and the
sandbox's fault table checked against the fake API's own fields. It must not know sections or
sources; error messages never repeat a database URL (it may hold a password).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from bidagent.durations import parse_duration

__all__ = [
    "DatabaseUrl",
    "Duration",
    "Faults",
    "PositiveDuration",
    "TimeOfDay",
    "check_faults",
]


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_positive_duration(value: str) -> str:
    if not parse_duration(value):
        raise ValueError(f"duration {value!r} must be longer than zero")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
PositiveDuration = Annotated[str, AfterValidator(_check_positive_duration)]

_TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


def _time_of_day(value: Any) -> Any:
    if isinstance(value, time):  # a TOML local time, 07:00:00
        return value
    match = _TIME_OF_DAY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a time of day as 'HH:MM' or 'HH:MM:SS', not {value!r}")
    hour, minute, second = match.groups()
    return time(int(hour), int(minute), int(second or 0))


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]

# The schemes make_engine opens (postgres:// and postgresql:// get the psycopg 3 driver).
_URL_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg")


def _check_database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in _URL_SCHEMES:
        raise ValueError(
            "expected a sqlite:///path or postgresql://user@host/db URL"
            + (f", not scheme {scheme!r}" if scheme else "")
        )
    try:
        make_url(value)
    except ArgumentError:
        raise ValueError("not a database URL SQLAlchemy can read") from None
    return value


DatabaseUrl = Annotated[str, AfterValidator(_check_database_url)]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# What one scripted call of the fake API does; the sandbox's fault injector reads the same list
# (``bidagent.sandbox.faults.OUTCOMES``). ``bad_request`` (a 400) and ``malformed`` (a 200 whose
# body is not the documented shape) are scripted only: they have no probability field.
FaultOutcome = Literal[
    "ok",
    "throttle",
    "throttle_no_retry_after",
    "error_500",
    "error_503",
    "unauthorized",
    "delay",
    "timeout_after_apply",
    "bad_request",
    "malformed",
]


class EndpointFaultsModel(_Strict):
    """``[sandbox.faults.endpoints."<key>"]``: mirrors ``sandbox.faults.EndpointFaults``."""

    throttle: Probability = 0.0
    throttle_no_retry_after: Probability = 0.0
    error_500: Probability = 0.0
    error_503: Probability = 0.0
    unauthorized: Probability = 0.0
    timeout_after_apply: Probability = 0.0
    delay_s: float = Field(default=0.0, ge=0.0, le=600.0)
    script: list[FaultOutcome] = Field(default_factory=list, max_length=100_000)


class FaultsModel(_Strict):
    """``[sandbox] faults``: mirrors ``sandbox.faults.FaultConfig`` (a test keeps them equal)."""

    seed: int = 0
    endpoints: dict[str, EndpointFaultsModel] = Field(default_factory=dict)
    retry_after_s: int = Field(default=1, ge=0, le=3600)
    report_pending_polls: Count = 0
    report_processing_polls: Count = 0
    report_failure: Probability = 0.0
    report_hang: Probability = 0.0
    report_script: list[Literal["ok", "fail", "hang"]] = Field(
        default_factory=list, max_length=100_000
    )
    expire_token_after: int | None = Field(default=None, ge=1)
    timeout_sleep_s: float = Field(default=65.0, gt=0.0, le=3600.0)


def check_faults(value: dict[str, Any]) -> dict[str, Any]:
    """The fault table as given, once every key is known and every value in range."""
    try:
        FaultsModel.model_validate(value)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            problems.append(
                f"unknown fault setting '{key}'"
                if error["type"] == "extra_forbidden"
                else f"'{key}': {error['msg']}"
            )
        raise ValueError("; ".join(problems)) from None
    return value


Faults = Annotated[dict[str, Any], AfterValidator(check_faults)]
