"""pbx: the get_number_info switch per account, and call-journal reconciliation runs

Revision ID: 0010
Revises: 0008 (for testing alone; the lead sets '0009' at merge)
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pbx_accounts') as batch_op:
        batch_op.add_column(sa.Column('route_inbound', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'pbx_journals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pbx_account_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.String(length=128), nullable=True),
        sa.Column('period_start', sa.DateTime(), nullable=False),
        sa.Column('period_end', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('matched', sa.Integer(), nullable=False),
        sa.Column('settled', sa.Integer(), nullable=False),
        sa.Column('unknown_calls', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['pbx_account_id'], ['pbx_accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('pbx_journals') as batch_op:
        batch_op.create_index('ix_pbx_journals_pbx_account_id', ['pbx_account_id'])
        batch_op.create_index('ix_pbx_journals_order_id', ['order_id'])


def downgrade():
    op.drop_table('pbx_journals')
    with op.batch_alter_table('pbx_accounts') as batch_op:
        batch_op.drop_column('route_inbound')
