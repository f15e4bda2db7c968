"""ids never reused: requests, call attempts and notifications (SQLite AUTOINCREMENT)

A request's id travels in links (Telegram, CRM notes, the owner's webhook) and a
notification's id is the webhook's delivery id: after a deletion (forget-number, the
retention purge) SQLite would give the highest freed id to the next row, so a link
already sent would point at another visitor. PostgreSQL's sequences never reuse one.

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TABLES = ('callback_requests', 'call_attempts', 'notifications')


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in TABLES:
        # The copy keeps every id, and SQLite starts the table's sequence at the highest.
        with op.batch_alter_table(
            table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
        ):
            pass


def upgrade():
    _recreate(True)


def downgrade():
    _recreate(False)
