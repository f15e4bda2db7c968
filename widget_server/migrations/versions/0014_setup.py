"""setup checklist, limits and languages (issue 17)

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('widgets') as batch:
        # {origin: ISO time} of the widget's last load there (the setup checklist).
        batch.add_column(sa.Column('seen_on', sa.JSON(), nullable=True))
        # An installation admin lifted the new-widget cap: when and who.
        batch.add_column(sa.Column('cap_lifted_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('cap_lifted_by', sa.String(254), nullable=True))
    with op.batch_alter_table('widget_groups') as batch:
        batch.add_column(sa.Column('label_en', sa.String(120), nullable=True))
    with op.batch_alter_table('owners') as batch:
        batch.add_column(
            sa.Column('timezone', sa.String(64), nullable=False, server_default='Europe/Moscow')
        )


def downgrade():
    with op.batch_alter_table('owners') as batch:
        batch.drop_column('timezone')
    with op.batch_alter_table('widget_groups') as batch:
        batch.drop_column('label_en')
    with op.batch_alter_table('widgets') as batch:
        batch.drop_column('cap_lifted_by')
        batch.drop_column('cap_lifted_at')
        batch.drop_column('seen_on')
