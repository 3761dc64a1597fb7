"""tag_history.platform: a multi-arch tag points at one image per platform

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tag_history") as batch:
        batch.add_column(sa.Column("platform", sa.String(length=64), nullable=False, server_default=""))
        batch.drop_constraint("uq_tag_history", type_="unique")
        batch.create_unique_constraint("uq_tag_history_platform", ["repository", "tag", "platform", "digest"])


def downgrade() -> None:
    with op.batch_alter_table("tag_history") as batch:
        batch.drop_constraint("uq_tag_history_platform", type_="unique")
        batch.create_unique_constraint("uq_tag_history", ["repository", "tag", "digest"])
        batch.drop_column("platform")
