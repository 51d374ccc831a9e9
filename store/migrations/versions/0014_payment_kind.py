"""payment kind: a payment is the month's REGULAR benefit or BACK_PAY (补发) for a
month already paid; back pay lines of a month are numbered, and the unique key
becomes (household, month, number). Each benefit entry keeps the household's size
and total income it was computed on, for a standard set later from an earlier date.

No policy rules come with it: `Payment.kind` and `PaymentBatchResult.backPay` fall
under the `Payment.*` and `PaymentBatchResult.*` rules every reader of those types
already has (0002, 0007), so they are read exactly where `Payment.amount` is.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("benefit_history") as batch:
        batch.add_column(sa.Column("members", sa.SmallInteger(), nullable=True))
        batch.add_column(
            sa.Column("income", store.types.Money(precision=14, scale=2), nullable=True)
        )
        batch.add_column(sa.Column("covered_incomes", sa.JSON(), nullable=True))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=10), server_default="REGULAR", nullable=False)
        )
        batch.add_column(sa.Column("seq", sa.SmallInteger(), server_default="0", nullable=False))
        batch.drop_constraint("uq_payments_household_period", type_="unique")
        batch.create_unique_constraint(
            "uq_payments_household_period_seq", ["archive_no", "period", "seq"]
        )
        batch.create_check_constraint(
            op.f("ck_payments_kind_seq"),
            "(kind = 'REGULAR' AND seq = 0) OR (kind = 'BACK_PAY' AND seq > 0)",
        )


def downgrade() -> None:
    # back pay lines cannot live under the old key (one payment per household and
    # month), and payments are records that are never deleted: refuse instead
    payments = sa.table("payments", sa.column("kind", sa.String))
    back_pay = op.get_bind().scalar(
        sa.select(sa.func.count()).select_from(payments).where(payments.c.kind != "REGULAR")
    )
    if back_pay:
        raise RuntimeError("payments hold back pay lines: the old schema cannot keep them")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(op.f("ck_payments_kind_seq"), type_="check")
        batch.drop_constraint("uq_payments_household_period_seq", type_="unique")
        batch.create_unique_constraint("uq_payments_household_period", ["archive_no", "period"])
        batch.drop_column("seq")
        batch.drop_column("kind")
    with op.batch_alter_table("benefit_history") as batch:
        batch.drop_column("covered_incomes")
        batch.drop_column("income")
        batch.drop_column("members")
