"""quota uses: uploads, exports, joins and roster downloads counted per server or person

Revision ID: 0003_quotas
Revises: 0002_outbox
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_quotas'
down_revision: str | None = '0002_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quota_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_uses'))
    )
    with op.batch_alter_table('quota_uses', schema=None) as batch_op:
        batch_op.create_index('ix_quota_uses_key', ['action', 'guild_id', 'user_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quota_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_quota_uses_key')
    op.drop_table('quota_uses')
