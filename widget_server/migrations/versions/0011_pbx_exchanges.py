"""pbx: the raw exchange journal of recent calls, and the dialect the first call detected

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pbx_accounts') as batch_op:
        batch_op.add_column(sa.Column('dialect', sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column('dialect_checked_at', sa.DateTime(), nullable=True))
    op.create_table(
        'pbx_exchanges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pbx_account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('session_id', sa.String(length=128), nullable=True),
        sa.Column('request', sa.JSON(), nullable=True),
        sa.Column('reply', sa.JSON(), nullable=True),
        sa.Column('headers', sa.JSON(), nullable=True),
        sa.Column('error', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['pbx_account_id'], ['pbx_accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('pbx_exchanges') as batch_op:
        batch_op.create_index('ix_pbx_exchanges_pbx_account_id', ['pbx_account_id'])
        batch_op.create_index('ix_pbx_exchanges_session_id', ['session_id'])


def downgrade():
    op.drop_table('pbx_exchanges')
    with op.batch_alter_table('pbx_accounts') as batch_op:
        batch_op.drop_column('dialect_checked_at')
        batch_op.drop_column('dialect')
