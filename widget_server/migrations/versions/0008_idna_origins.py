"""widgets: Cyrillic (IDN) origins stored as typed are rewritten in the ASCII form browsers send

Revision ID: 0008
Revises: 0007
"""
import json

from alembic import op
import idna
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _ascii(origin):
    # Only non-ASCII hosts change; one that IDNA refuses stays as it was (the
    # config page asks the owner to fix it on the next save).
    scheme, sep, rest = origin.partition('://')
    host, colon, port = rest.partition(':')
    if not sep or host.isascii():
        return origin
    try:
        return f"{scheme}://{idna.encode(host, uts46=True).decode('ascii')}{colon}{port}"
    except idna.IDNAError:
        return origin


def upgrade():
    bind = op.get_bind()
    widgets = sa.table('widgets', sa.column('id', sa.Integer), sa.column('origins', sa.JSON))
    for widget_id, origins in bind.execute(sa.select(widgets.c.id, widgets.c.origins)).all():
        if isinstance(origins, str):  # a JSON column read without its type
            origins = json.loads(origins)
        fixed = sorted({_ascii(o) for o in origins or []})
        if fixed != sorted(origins or []):
            bind.execute(widgets.update().where(widgets.c.id == widget_id).values(origins=fixed))


def downgrade():
    pass  # the ASCII form is what the service expects from now on
