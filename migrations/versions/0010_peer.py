"""peer review: a cohort's settings, who reviews which submission, and what they said

Revision ID: 0010_peer
Revises: 0009_perf
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_peer'
down_revision: str | None = '0009_perf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PEER_STATES = ('open', 'done', 'missed', 'withdrawn', 'discarded')


def upgrade() -> None:
    op.create_table(
        'peer_settings',
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('reviewers', sa.Integer(), nullable=False),
        sa.Column('anonymous', sa.Boolean(), nullable=False),
        sa.Column('due_days', sa.Integer(), nullable=False),
        sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('due_days BETWEEN 1 AND 14', name=op.f('ck_peer_settings_due_days_range')),
        sa.CheckConstraint('reviewers BETWEEN 0 AND 3', name=op.f('ck_peer_settings_reviewers_range')),
        sa.ForeignKeyConstraint(
            ['cohort_id'], ['cohorts.id'], name=op.f('fk_peer_settings_cohort_id_cohorts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('cohort_id', name=op.f('pk_peer_settings')),
    )
    op.create_table(
        'peer_assignments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('week', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=False),
        sa.Column(
            'state',
            sa.Enum(*PEER_STATES, name='peer_state', native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['cohort_id'], ['cohorts.id'], name=op.f('fk_peer_assignments_cohort_id_cohorts'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['submission_id'], ['submissions.id'], name=op.f('fk_peer_assignments_submission_id_submissions'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['reviewer_id'], ['memberships.id'], name=op.f('fk_peer_assignments_reviewer_id_memberships'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_peer_assignments')),
        sa.UniqueConstraint('submission_id', 'reviewer_id', name=op.f('uq_peer_assignments_submission_id_reviewer_id')),
    )
    op.create_index('ix_peer_assignments_cohort_week', 'peer_assignments', ['cohort_id', 'week'], unique=False)
    op.create_index('ix_peer_assignments_reviewer_id', 'peer_assignments', ['reviewer_id'], unique=False)
    op.create_table(
        'peer_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('verdicts', sa.JSON(), nullable=False),
        sa.Column('comment', sa.String(length=1000), nullable=True),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['assignment_id'], ['peer_assignments.id'], name=op.f('fk_peer_reviews_assignment_id_peer_assignments'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_peer_reviews')),
        sa.UniqueConstraint('assignment_id', name=op.f('uq_peer_reviews_assignment_id')),
    )


def downgrade() -> None:
    op.drop_table('peer_reviews')
    op.drop_index('ix_peer_assignments_reviewer_id', table_name='peer_assignments')
    op.drop_index('ix_peer_assignments_cohort_week', table_name='peer_assignments')
    op.drop_table('peer_assignments')
    op.drop_table('peer_settings')
