"""config page: installation admins, owner phone and language, test calls

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=False, server_default='ru'))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_test', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_column('is_test')
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('language')
        batch_op.drop_column('phone')
        batch_op.drop_column('is_admin')
