"""``GET /api/me``: who the request is signed in as, and with which rights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from bidagent.console.auth import Principal
from bidagent.console.deps import require
from bidagent.console.users import ROLES, Role

__all__ = ["Me", "router"]

router = APIRouter(prefix="/api", tags=["people"])


class Me(BaseModel):
    """The signed-in principal."""

    name: str
    role: Role
    via: str
    may: list[Role]


@router.get("/me")
def me(principal: Annotated[Principal, Depends(require("viewer"))]) -> Me:
    """The name the ledger records for this principal's decisions, and the roles it has."""
    return Me(
        name=principal.name,
        role=principal.role,
        via=principal.via,
        may=[role for role in ROLES if principal.may(role)],
    )
