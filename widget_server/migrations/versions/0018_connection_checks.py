"""connection checks in the queue: the PBX page's last check kept on its account

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pbx_accounts') as batch:
        batch.add_column(sa.Column('check_kind', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('check_asked_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('check_done_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('check_answer', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('pbx_accounts') as batch:
        for name in ('check_answer', 'check_done_at', 'check_asked_at', 'check_kind'):
            batch.drop_column(name)
