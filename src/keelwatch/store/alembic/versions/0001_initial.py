"""initial store schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 03:17:16.329140
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("modified", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("withdrawn", sa.String(length=64), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("source", "id"),
    )
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.create_index("ix_advisories_origin", ["source", "origin"], unique=False)

    op.create_table(
        "epss",
        sa.Column("cve", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("date", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("cve"),
    )
    op.create_table(
        "feed_state",
        sa.Column("feed", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("snapshot_at", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("feed"),
    )
    with op.batch_alter_table("feed_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_state_source"), ["source"], unique=False)

    op.create_table(
        "kev",
        sa.Column("cve", sa.String(length=64), nullable=False),
        sa.Column("date_added", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.String(length=32), nullable=False),
        sa.Column("known_ransomware", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=255), nullable=False),
        sa.Column("product", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("cve"),
    )
    op.create_table(
        "package_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=False),
        sa.Column("source_name", sa.String(length=512), nullable=False),
        sa.Column("source_version", sa.String(length=256), nullable=False),
        sa.Column("distro", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "type", "name", "version", "source_name", "source_version", "distro", name="uq_package_versions"
        ),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=1024), nullable=False),
        sa.Column("identity", sa.String(length=128), nullable=False),
        sa.Column("manifest_digest", sa.String(length=128), nullable=True),
        sa.Column("config_digest", sa.String(length=128), nullable=True),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("os_id", sa.String(length=64), nullable=False),
        sa.Column("os_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("result", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref", "identity", name="uq_scans_ref_identity"),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scans_config_digest"), ["config_digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_scans_manifest_digest"), ["manifest_digest"], unique=False)

    op.create_table(
        "advisory_packages",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("advisory_id", sa.String(length=255), nullable=False),
        sa.Column("ecosystem", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("name_key", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["source", "advisory_id"], ["advisories.source", "advisories.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk"),
    )
    with op.batch_alter_table("advisory_packages", schema=None) as batch_op:
        batch_op.create_index("ix_advisory_packages_advisory", ["source", "advisory_id"], unique=False)
        batch_op.create_index("ix_advisory_packages_lookup", ["ecosystem", "name_key"], unique=False)

    op.create_table(
        "scan_packages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("package_version_id", sa.Integer(), nullable=False),
        sa.Column("layer_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["package_version_id"], ["package_versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scan_packages", schema=None) as batch_op:
        batch_op.create_index("ix_scan_packages_package", ["package_version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_packages_scan_id"), ["scan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scan_packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_packages_scan_id"))
        batch_op.drop_index("ix_scan_packages_package")

    op.drop_table("scan_packages")
    with op.batch_alter_table("advisory_packages", schema=None) as batch_op:
        batch_op.drop_index("ix_advisory_packages_lookup")
        batch_op.drop_index("ix_advisory_packages_advisory")

    op.drop_table("advisory_packages")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scans_manifest_digest"))
        batch_op.drop_index(batch_op.f("ix_scans_config_digest"))

    op.drop_table("scans")
    op.drop_table("package_versions")
    op.drop_table("kev")
    with op.batch_alter_table("feed_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_state_source"))

    op.drop_table("feed_state")
    op.drop_table("epss")
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.drop_index("ix_advisories_origin")

    op.drop_table("advisories")
