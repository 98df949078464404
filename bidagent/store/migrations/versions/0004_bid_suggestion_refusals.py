"""bid suggestion refusals

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:30:00

An ad group Amazon refuses suggestions for (the documented 422 for an ad group without an ASIN)
is recorded with a back-off, so the refresh goes on to the other ad groups and does not ask the
refused one first again every cycle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bidagent.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bid_suggestion_refusals",
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ad_group_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.Column("refused_at", bidagent.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retry_at", bidagent.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "ad_group_id"),
    )


def downgrade() -> None:
    op.drop_table("bid_suggestion_refusals")
