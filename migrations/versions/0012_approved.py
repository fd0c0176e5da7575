"""approved: each membership keeps its count of approved checkpoints, so the board by them is an indexed read

Revision ID: 0012_approved
Revises: 0011_shards
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_approved'
down_revision: str | None = '0011_shards'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('memberships') as batch:
        batch.add_column(sa.Column('approved', sa.Integer(), nullable=False, server_default='0'))
    # Counted once from what is there; from now on a moderator's approval adds one in the same transaction.
    op.execute(
        "UPDATE memberships SET approved = (SELECT count(*) FROM submissions"
        " WHERE submissions.membership_id = memberships.id AND submissions.status = 'approved')"
    )
    op.create_index('ix_memberships_cohort_status_approved', 'memberships', ['cohort_id', 'status', 'approved'])


def downgrade() -> None:
    op.drop_index('ix_memberships_cohort_status_approved', table_name='memberships')
    with op.batch_alter_table('memberships') as batch:
        batch.drop_column('approved')
