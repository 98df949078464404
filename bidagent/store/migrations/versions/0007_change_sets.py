"""change sets

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 21:10:00

A harvest that graduates its search term is two creations (the new keyword or product target, and
the negative in the source ad group) that must both hold or neither: ``change_set`` names the set
each change belongs to, so the apply path can archive one half when the other fails.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(
            sa.Column("change_set", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True)
        )
        batch.create_index("ix_changes_change_set", ["change_set"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.drop_index("ix_changes_change_set")
        batch.drop_column("change_set")
