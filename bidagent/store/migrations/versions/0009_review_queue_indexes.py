"""review queue indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00

The review queue counts each listed item's changes by status and finds the campaign(s) they
touch; with tens of thousands of open items and a hundred thousand change rows, two composite
indexes on ``changes`` answer both from the index alone: ``(review_item_id, status)`` and
``(review_item_id, campaign_id)``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_changes_review_item_status": ["review_item_id", "status"],
    "ix_changes_review_item_campaign": ["review_item_id", "campaign_id"],
}


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        for name, columns in _INDEXES.items():
            batch.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        for name in _INDEXES:
            batch.drop_index(name)
