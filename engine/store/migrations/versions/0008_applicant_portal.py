"""applicant portal: applicants, case materials, ratings, case query code and account

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00.000000

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "applicants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
    )
    op.create_table(
        "case_materials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stored_name"),
    )
    with op.batch_alter_table("case_materials", schema=None) as batch_op:
        batch_op.create_index("ix_case_materials_case", ["case_id", "round"], unique=False)

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=True),
        sa.Column("follow_up_notice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index("ix_ratings_rated", ["rated_at", "department_id"], unique=False)

    # the receipt's query code and the applicant's account (progress query, "my cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("query_code", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("submission", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_cases_submission", ["submission", "started_by"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its REFERENCES clause in place; a batch "recreate"
        # would drop the cases table, and with foreign keys on that deletes its children
        op.execute(
            "ALTER TABLE cases ADD COLUMN applicant_account_id INTEGER REFERENCES applicants (id)"
        )
    else:
        op.add_column("cases", sa.Column("applicant_account_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "cases_applicant_account_id_fkey",
            "cases",
            "applicants",
            ["applicant_account_id"],
            ["id"],
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_applicant_account_id"), ["applicant_account_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_applicant_account_id"))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE cases DROP COLUMN applicant_account_id")
    else:
        op.drop_constraint("cases_applicant_account_id_fkey", "cases", type_="foreignkey")
        op.drop_column("cases", "applicant_account_id")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_submission")
        batch_op.drop_column("submission")
        batch_op.drop_column("query_code")

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_rated")
    op.drop_table("ratings")

    with op.batch_alter_table("case_materials", schema=None) as batch_op:
        batch_op.drop_index("ix_case_materials_case")
    op.drop_table("case_materials")

    op.drop_table("applicants")
