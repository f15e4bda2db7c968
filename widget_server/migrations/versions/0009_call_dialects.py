"""call dialects: events expected or polled, event-id aliases, the PBX's own ring time

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pbx_accounts') as batch:
        batch.add_column(
            sa.Column('events_expected', sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column('events_missing_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('session_mismatch_at', sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column('ring_seconds', sa.Integer(), nullable=False, server_default='45')
        )
    with op.batch_alter_table('call_attempts') as batch:
        batch.add_column(sa.Column('event_session_id', sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column('call_info_tries', sa.Integer(), nullable=False, server_default='0')
        )
        batch.create_index('ix_call_attempts_event_session_id', ['event_session_id'])


def downgrade():
    with op.batch_alter_table('call_attempts') as batch:
        batch.drop_index('ix_call_attempts_event_session_id')
        batch.drop_column('call_info_tries')
        batch.drop_column('event_session_id')
    with op.batch_alter_table('pbx_accounts') as batch:
        batch.drop_column('ring_seconds')
        batch.drop_column('session_mismatch_at')
        batch.drop_column('events_missing_at')
        batch.drop_column('events_expected')
