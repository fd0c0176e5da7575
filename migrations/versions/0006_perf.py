"""daily streaks kept per membership, so /leaderboard reads one small row per member; an index that
covers counting a cohort's approved checkpoints per member

Revision ID: 0006_perf
Revises: 0004_awards
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_perf'
down_revision: str | None = '0004_awards'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'daily_streaks',
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=True),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('best', sa.Integer(), nullable=False),
        sa.Column('next_day', sa.Date(), nullable=True),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_daily_streaks_cohort_id_cohorts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'],
                                name=op.f('fk_daily_streaks_membership_id_memberships'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('membership_id', name=op.f('pk_daily_streaks')),
    )
    op.create_index('ix_daily_streaks_cohort_id', 'daily_streaks', ['cohort_id'], unique=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_cohort_status')
        batch_op.create_index('ix_submissions_cohort_status_membership', ['cohort_id', 'status', 'membership_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_cohort_status_membership')
        batch_op.create_index('ix_submissions_cohort_status', ['cohort_id', 'status'], unique=False)
    op.drop_index('ix_daily_streaks_cohort_id', table_name='daily_streaks')
    op.drop_table('daily_streaks')
