"""cycle rules

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

What each rule did in each cycle (matched, proposed, skipped by reason), which the plan's
skips left nowhere else: the console's Rules page shows each rule's last cycle from it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cycle_rules",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("rule_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("rule_file", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rule_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("proposed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("skips", sa.JSON(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"]),
        sa.PrimaryKeyConstraint("cycle_id", "rule_name"),
    )
    with op.batch_alter_table("cycle_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cycle_rules_latest", ["rule_name", "profile_id", "cycle_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cycle_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_cycle_rules_latest")
    op.drop_table("cycle_rules")
