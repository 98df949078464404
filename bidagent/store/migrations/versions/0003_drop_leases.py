"""drop leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:20:00

The leases table (which replica runs a profile) was created by 0001 but never read or written:
one daemon per SQLite file is an flock, and PostgreSQL cycles are idempotent per profile and
business date. Downgrade recreates the table as 0001 made it, empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bidagent.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("leases")


def downgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", bidagent.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id"),
    )
