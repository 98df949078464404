"""Every error bidagent raises on purpose, in one hierarchy.

Errors carry structured fields (file, key, rule, entity, status) so the CLI and the review queue can
say exactly what went wrong without parsing messages. Broad ``except`` clauses live only at job and
cycle boundaries, and each one records a cycle outcome or a review item.

::

    BidAgentError
    ├── ConfigError              a configuration file or environment value is wrong (file, key)
    ├── StoreError               the database cannot be opened, migrated or written
    │   ├── DaemonLockedError    another daemon already owns this database
    │   └── ProfileBusyError     another process holds this profile's lock (profile_id; names it)
    ├── RuleSetError             one or more rule files are invalid (problems: file:line:col)
    │   └── RuleTestError        a rule unit-test file itself is malformed
    ├── AdsError                 the Amazon Ads API (or the fake one) refused or failed (ads/)
    │   ├── AuthError            LWA token refresh failed, or the API said 401/403
    │   ├── ThrottledError       429 after the retry budget ran out (retry_after_s)
    │   ├── ApiError             any other non-success answer (status, code, details)
    │   ├── MalformedResponse    a success answer whose body is not the documented shape
    │   ├── ReportFailed         a report ended FAILED, or its file was malformed
    │   └── ReportTimeout        a report did not complete before its deadline
    ├── SandboxError             the simulated marketplace was misused (bad scenario, bad state file)
    ├── AgentError               the cycle, apply, review or notify layer refused an action
    │   ├── PausedError          the kill switch is on; nothing was sent
    │   └── ReviewError          a review decision cannot be carried out (item closed, entity moved)
    └── ConsoleError             the web console refused an action (unknown user, bad role, port)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AdsError",
    "AgentError",
    "ApiError",
    "AuthError",
    "BidAgentError",
    "ConfigError",
    "ConsoleError",
    "DaemonLockedError",
    "MalformedResponse",
    "PausedError",
    "ProfileBusyError",
    "ReportFailed",
    "ReportTimeout",
    "ReviewError",
    "RuleProblem",
    "RuleSetError",
    "RuleTestError",
    "SandboxError",
    "StoreError",
    "ThrottledError",
]


class BidAgentError(Exception):
    """Root of every deliberate bidagent error."""


class ConfigError(BidAgentError):
    """A configuration value is missing or wrong; names the file and the dotted key."""

    def __init__(self, message: str, *, file: Path | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        # The message names the key itself (several keys may be wrong at once); prefix the file.
        super().__init__(f"{file}: {message}" if file else message)


class StoreError(BidAgentError):
    """The database cannot be opened, migrated or written."""


class DaemonLockedError(StoreError):
    """Another daemon process already holds this database."""


class ProfileBusyError(StoreError):
    """Another process holds the profile's lock (one writer per profile); the message names it."""

    def __init__(self, message: str, *, profile_id: str) -> None:
        self.profile_id = profile_id
        super().__init__(message)


@dataclass(frozen=True)
class RuleProblem:
    """One problem in one rule file, positioned so an editor can jump to it."""

    file: str
    line: int
    col: int
    message: str
    rule: str | None = None
    severity: str = "error"  # "error" stops the rule set from loading; "warning" does not

    def __str__(self) -> str:
        rule = f" rule '{self.rule}':" if self.rule else ""
        return f"{self.file}:{self.line}:{self.col}:{rule} {self.message}"


class RuleSetError(BidAgentError):
    """A rule set failed to load; ``problems`` holds every problem found, not just the first."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems) or "invalid rule set")


class RuleTestError(RuleSetError):
    """A ``*.test.yaml`` file is itself malformed (as opposed to a test that fails)."""


class AdsError(BidAgentError):
    """The Ads API refused or failed a call."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(message)


class AuthError(AdsError):
    """Login with Amazon refused the refresh token or client, or the API answered 401/403."""


class ThrottledError(AdsError):
    """The API kept answering 429 after the retry budget ran out."""

    def __init__(
        self, message: str, *, retry_after_s: float | None = None, **kwargs: object
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ApiError(AdsError):
    """Any other non-success answer from the Ads API."""


class MalformedResponse(AdsError):  # noqa: N818 - like ReportFailed, names what came back
    """The API answered 2xx, but the body is not the documented shape (not JSON, no list)."""


class ReportFailed(AdsError):  # noqa: N818 - the name Amazon's own docs use for the state
    """A report ended in FAILED, or its downloaded file was malformed and was rejected whole."""


class ReportTimeout(AdsError):  # noqa: N818
    """A report did not reach COMPLETED before its deadline."""


class SandboxError(BidAgentError):
    """The simulated marketplace was asked for something it cannot do."""


class AgentError(BidAgentError):
    """The agent layer refused an action."""


class PausedError(AgentError):
    """The kill switch is engaged; nothing was sent."""


class ReviewError(AgentError):
    """A review decision cannot be carried out."""


class ConsoleError(BidAgentError):
    """The web console, or managing its users, refused an action."""
