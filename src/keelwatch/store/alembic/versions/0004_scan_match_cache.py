"""scan_matches: findings digest and cached package links (fast warm rescan)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_matches") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("packages", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("scan_created_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_matches") as batch:
        batch.drop_column("scan_created_at")
        batch.drop_column("packages")
        batch.drop_column("digest")
