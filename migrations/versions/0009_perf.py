"""kept daily streaks say until when their run is current and they hold, so a board is read with an
indexed query (cohort, run, best) instead of a row per member in Python

The kept rows are a cache: they are dropped here and the bot's start-up correction computes them again
(until then a board recomputes the missing ones on the spot).

Revision ID: 0009_perf
Revises: 0008_arch1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_perf'
down_revision: str | None = '0008_arch1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text('DELETE FROM daily_streaks'))
    with op.batch_alter_table('daily_streaks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alive_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('holds_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_daily_streaks_cohort_id')
        batch_op.create_index('ix_daily_streaks_cohort_run_best', ['cohort_id', 'run', 'best'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('daily_streaks', schema=None) as batch_op:
        batch_op.drop_index('ix_daily_streaks_cohort_run_best')
        batch_op.create_index('ix_daily_streaks_cohort_id', ['cohort_id'], unique=False)
        batch_op.drop_column('holds_until')
        batch_op.drop_column('alive_until')
