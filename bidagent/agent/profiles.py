"""Which advertising profiles the agent manages.

Configured ``[[profiles]]`` (enabled ones) when there are any; otherwise every profile the
account can edit, as ``GET /v2/profiles`` lists them, which is what makes the sandbox demo work
with no configuration at all.
"""

from __future__ import annotations

from bidagent.agent.context import AgentContext
from bidagent.errors import AgentError

__all__ = ["profile_ids"]


def profile_ids(ctx: AgentContext, only: str | None = None) -> list[str]:
    """Profile ids to run, or just ``only`` (which must be one of them)."""
    configured = [p.profile_id for p in ctx.settings.profiles if p.enabled]
    ids = configured or [str(p.profile_id) for p in ctx.client.list_profiles()]
    if only is None:
        return ids
    if only not in ids:
        raise AgentError(f"profile {only} is not managed here; known: {', '.join(ids) or 'none'}")
    return [only]
