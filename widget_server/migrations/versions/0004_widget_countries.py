"""countries a widget may call beyond Russia, with daily caps

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('widgets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('countries', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('widgets', schema=None) as batch_op:
        batch_op.drop_column('countries')
