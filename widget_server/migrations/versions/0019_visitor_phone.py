"""a number for visitors: the widget's own phone, shown where no call will come

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('widgets') as batch:
        batch.add_column(sa.Column('visitor_phone', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('widgets') as batch:
        batch.drop_column('visitor_phone')
