"""stale_streaks: a board finds the kept streaks that no longer hold along indexes, and every member has a row

Revision ID: 0013_stale_streaks
Revises: 0012_approved
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013_stale_streaks'
down_revision: str | None = '0012_approved'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_daily_streaks_cohort_holds_until', 'daily_streaks', ['cohort_id', 'holds_until'])
    op.create_index('ix_daily_streaks_cohort_computed_at', 'daily_streaks', ['cohort_id', 'computed_at'])
    # Rows kept before a zone change marked them: none is trusted until recomputed (the correction at start-up).
    op.execute("UPDATE daily_streaks SET holds_until = computed_at")
    # A member without a row is found only through one that does not hold yet (erased members, whose ids are
    # negative, keep none).
    op.execute(
        "INSERT INTO daily_streaks (membership_id, cohort_id, zone, run, best, computed_at, holds_until)"
        " SELECT memberships.id, memberships.cohort_id, '', 0, 0, memberships.joined_at, memberships.joined_at"
        " FROM memberships WHERE memberships.user_id > 0 AND NOT EXISTS"
        " (SELECT 1 FROM daily_streaks WHERE daily_streaks.membership_id = memberships.id)"
    )


def downgrade() -> None:
    op.drop_index('ix_daily_streaks_cohort_computed_at', table_name='daily_streaks')
    op.drop_index('ix_daily_streaks_cohort_holds_until', table_name='daily_streaks')
