"""weekly live sessions of a cohort, kept as Discord scheduled events

Revision ID: 0007_sessions
Revises: 0006_perf
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_sessions'
down_revision: str | None = '0006_perf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'live_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('start_time', sa.Time(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.BigInteger(), nullable=True),
        sa.Column('location', sa.String(length=100), nullable=True),
        sa.Column('created_by', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('minutes BETWEEN 5 AND 600', name=op.f('ck_live_sessions_minutes_range')),
        sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_live_sessions_weekday_range')),
        sa.ForeignKeyConstraint(
            ['cohort_id'], ['cohorts.id'], name=op.f('fk_live_sessions_cohort_id_cohorts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_live_sessions')),
    )
    op.create_index('ix_live_sessions_cohort', 'live_sessions', ['cohort_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_live_sessions_cohort', table_name='live_sessions')
    op.drop_table('live_sessions')
