"""canonical catalogue keys: every Docker Hub spelling of an image is one repository

Catalogue entries and tag history were keyed by a loose split of the reference as typed,
so `index.docker.io/library/debian:12`, `docker://debian:12` and `debian:12` were up to
three repositories. Re-key every row with the one key function (`governance.catalogue.repository_of`) and
merge tag-history rows that become the same record. Rows whose names no longer parse keep
their key.

Revision ID: 0007
Revises: 0006
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from keelwatch.governance.catalogue import repository_of
from keelwatch.oci.reference import try_parse

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_base_images = sa.table(
    "base_images",
    sa.column("id", sa.Integer),
    sa.column("ref", sa.String),
    sa.column("repository", sa.String),
    sa.column("tag", sa.String),
)
_tag_history = sa.table(
    "tag_history",
    sa.column("id", sa.Integer),
    sa.column("repository", sa.String),
    sa.column("tag", sa.String),
    sa.column("platform", sa.String),
    sa.column("digest", sa.String),
    sa.column("first_seen", sa.DateTime(timezone=True)),
    sa.column("last_seen", sa.DateTime(timezone=True)),
)


def _key(text: str) -> tuple[str, str] | None:
    ref = try_parse(text)
    return repository_of(ref) if ref is not None else None


def upgrade() -> None:
    conn = op.get_bind()
    for row_id, ref, repository, tag in conn.execute(
        sa.select(_base_images.c.id, _base_images.c.ref, _base_images.c.repository, _base_images.c.tag)
    ).all():
        key = _key(ref)
        if key is not None and key != (repository, tag):
            conn.execute(
                _base_images.update().where(_base_images.c.id == row_id).values(repository=key[0], tag=key[1])
            )
    groups: dict[tuple[str, str, str, str], list[tuple]] = defaultdict(list)
    for row in conn.execute(sa.select(_tag_history).order_by(_tag_history.c.id)).all():
        row_id, repository, tag, platform, digest, first, last = row
        key = _key(f"{repository}:{tag}" if tag else repository) or (repository, tag)
        groups[(*key, platform, digest)].append((row_id, repository, tag, first, last))
    for (repository, tag, _platform, _digest), rows in groups.items():
        keep, *merged = rows
        if merged:
            conn.execute(_tag_history.delete().where(_tag_history.c.id.in_([r[0] for r in merged])))
        first = min(r[3] for r in rows)
        last = max(r[4] for r in rows)
        if merged or (keep[1], keep[2]) != (repository, tag):
            conn.execute(
                _tag_history.update()
                .where(_tag_history.c.id == keep[0])
                .values(repository=repository, tag=tag, first_seen=first, last_seen=last)
            )


def downgrade() -> None:
    """Canonical keys are valid keys for the old code too: nothing to undo."""
