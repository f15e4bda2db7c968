"""config page: signed-out session ids, refused until their cookies expire

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ended_sessions',
        sa.Column('sid', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('sid'),
    )
    op.create_index('ix_ended_sessions_expires_at', 'ended_sessions', ['expires_at'])


def downgrade():
    op.drop_index('ix_ended_sessions_expires_at', table_name='ended_sessions')
    op.drop_table('ended_sessions')
