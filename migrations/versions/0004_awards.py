"""tier award back-off and retirement; a review message per submission version

Revision ID: 0004_awards
Revises: 0003_quotas
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_awards'
down_revision: str | None = '0003_quotas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _award_status(*values: str) -> sa.Enum:
    return sa.Enum(*values, name='award_status', native_enum=False, create_constraint=True, length=24)


OLD_STATUS = _award_status('pending', 'granted')
NEW_STATUS = _award_status('pending', 'granted', 'retired')


def upgrade() -> None:
    with op.batch_alter_table('tier_awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('status', existing_type=OLD_STATUS, type_=NEW_STATUS, existing_nullable=False)
        batch_op.create_index('ix_tier_awards_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('submission_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_channel_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('review_message_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submission_versions', schema=None) as batch_op:
        batch_op.drop_column('review_message_id')
        batch_op.drop_column('review_channel_id')
    op.execute("UPDATE tier_awards SET status = 'pending' WHERE status = 'retired'")
    with op.batch_alter_table('tier_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_awards_status_next_attempt_at')
        batch_op.alter_column('status', existing_type=NEW_STATUS, type_=OLD_STATUS, existing_nullable=False)
        batch_op.drop_column('next_attempt_at')
