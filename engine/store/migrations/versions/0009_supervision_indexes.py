"""supervision indexes: open steps and running cases by due moment, records by kind

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 15:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_status_due", ["status", "due_at"], unique=False)
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_human_tasks_state_due", ["state", "due_at"], unique=False)
    with op.batch_alter_table("fault_records", schema=None) as batch_op:
        batch_op.create_index("ix_fault_records_kind_created", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("fault_records", schema=None) as batch_op:
        batch_op.drop_index("ix_fault_records_kind_created")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_state_due")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_due")
