"""shards: the server each outbox message is owed in, so each process delivers its own servers' messages

Revision ID: 0011_shards
Revises: 0010_peer
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_shards'
down_revision: str | None = '0010_peer'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before this have no server: the shard-0 owner delivers them, as it does DM-only work.
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('guild_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('guild_id')
