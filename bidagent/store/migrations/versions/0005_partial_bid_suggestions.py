"""partial bid suggestions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00

Amazon answers up to three suggested bids per target (the spec has no minimum): two are read as
low and high, one as the median, so each of the three columns may be null.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("low", "median", "high")


def upgrade() -> None:
    with op.batch_alter_table("bid_suggestions") as batch:
        for name in _COLUMNS:
            batch.alter_column(name, existing_type=sa.Numeric(14, 2), nullable=True)


def downgrade() -> None:
    # A partial range cannot be stored in the old schema: drop it rather than invent values.
    op.execute("DELETE FROM bid_suggestions WHERE low IS NULL OR median IS NULL OR high IS NULL")
    with op.batch_alter_table("bid_suggestions") as batch:
        for name in _COLUMNS:
            batch.alter_column(name, existing_type=sa.Numeric(14, 2), nullable=False)
