"""who resumed a pause and who ended a cohort, recorded like who paused and who advanced

Revision ID: 0008_arch1
Revises: 0007_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_arch1'
down_revision: str | None = '0007_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_by', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('cohort_pauses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resumed_by', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cohort_pauses', schema=None) as batch_op:
        batch_op.drop_column('resumed_by')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('ended_by')
