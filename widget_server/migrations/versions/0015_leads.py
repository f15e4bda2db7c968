"""lead sources, status, funnel and A/B variants (issue 15)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

SOURCE_COLUMNS = (
    ('source_utm_source', 200),
    ('source_utm_medium', 200),
    ('source_utm_campaign', 200),
    ('source_utm_term', 200),
    ('source_utm_content', 200),
    ('source_yclid', 200),
    ('source_gclid', 200),
    ('source_referrer', 1000),
    ('source_landing_page', 1000),
)


def upgrade():
    with op.batch_alter_table('callback_requests') as batch_op:
        for name, length in SOURCE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch_op.add_column(sa.Column('variant', sa.String(length=1), nullable=True))
        batch_op.add_column(
            sa.Column('lead_status', sa.String(length=16), nullable=False, server_default='new')
        )
        batch_op.add_column(sa.Column('lead_comment', sa.Text(), nullable=True))
    with op.batch_alter_table('widgets') as batch_op:
        batch_op.add_column(sa.Column('lead_settings', sa.JSON(), nullable=True))
    op.create_table(
        'funnel_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('widget_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('variant', sa.String(length=1), nullable=False),
        sa.Column('path', sa.String(length=200), nullable=False),
        sa.Column('impressions', sa.Integer(), nullable=False),
        sa.Column('opens', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['widget_id'], ['widgets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('widget_id', 'day', 'variant', 'path'),
    )
    with op.batch_alter_table('funnel_days') as batch_op:
        batch_op.create_index('ix_funnel_days_widget_id', ['widget_id'])


def downgrade():
    op.drop_table('funnel_days')
    with op.batch_alter_table('widgets') as batch_op:
        batch_op.drop_column('lead_settings')
    with op.batch_alter_table('callback_requests') as batch_op:
        batch_op.drop_column('lead_comment')
        batch_op.drop_column('lead_status')
        batch_op.drop_column('variant')
        for name, _length in reversed(SOURCE_COLUMNS):
            batch_op.drop_column(name)
