"""bid suggestions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bidagent.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bid_suggestions",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ad_group_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("low", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("median", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("high", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fetched_at", bidagent.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "target_id"),
    )
    with op.batch_alter_table("bid_suggestions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bid_suggestions_profile_group", ["profile_id", "ad_group_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bid_suggestions", schema=None) as batch_op:
        batch_op.drop_index("ix_bid_suggestions_profile_group")
    op.drop_table("bid_suggestions")
