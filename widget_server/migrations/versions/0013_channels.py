"""notification channels (issue 16)

Telegram, Bitrix24 and amoCRM columns on owners, the bot's link codes and update
offset; owners without a notification address get their sign-in e-mail (missed-call
alerts on by default). The downgrade cannot tell which addresses were filled in here,
so it keeps them.

Revision ID: 0013
Revises: 0012
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_chat_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('telegram_chat_name', sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column('telegram_digest', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('bitrix24_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('amocrm_subdomain', sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column('amocrm_token', sa.Text(), nullable=True))
    op.create_table(
        'telegram_link_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code_hash'),
    )
    with op.batch_alter_table('telegram_link_codes', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_telegram_link_codes_owner_id'), ['owner_id'], unique=False
        )
    op.create_table(
        'telegram_offsets',
        sa.Column('bot_id', sa.String(length=32), nullable=False),
        sa.Column('next_offset', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('bot_id'),
    )
    op.execute(
        "UPDATE owners SET notify_email = email "
        "WHERE notify_email IS NULL OR notify_email = ''"
    )


def downgrade():
    op.drop_table('telegram_offsets')
    with op.batch_alter_table('telegram_link_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_link_codes_owner_id'))
    op.drop_table('telegram_link_codes')
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.drop_column('amocrm_token')
        batch_op.drop_column('amocrm_subdomain')
        batch_op.drop_column('bitrix24_url')
        batch_op.drop_column('telegram_digest')
        batch_op.drop_column('telegram_chat_name')
        batch_op.drop_column('telegram_chat_id')
