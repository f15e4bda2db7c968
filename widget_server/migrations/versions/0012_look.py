"""the widget's look document version (issue 14: a page view costs nothing)

Revision ID: 0012
Revises: 0011
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(sa.Column("look_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("look_version")
