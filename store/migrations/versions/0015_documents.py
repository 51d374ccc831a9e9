"""documents: scanned documents of an archive (立案存储), their metadata and their
sealed bytes; neither is ever deleted (a trigger refuses it on both backends)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.policy import rule_key, rule_rows

# The shipped policy rules of this release, frozen beside the migration that makes
# their fields (see 0011). `Document.content` is no GraphQL field: it decides who
# may fetch a document's bytes from GET /documents/{id}. Supervisors read what was
# filed, not the scans themselves (ID cards and certificates show in clear there).
RULES = (
    "p, caseworker, *, Mutation.attachDocument, write, allow",
    "p, county_reviewer, *, Mutation.attachDocument, write, allow",
    "p, case_staff, *, Document.*, read, allow",
    "p, supervisor, *, Document.*, read, allow",
    "p, supervisor, *, Document.content, read, deny",
)

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_KEPT = "documents are kept for their retention period"


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archive_no", sa.String(length=24), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("record_class", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=True),
        sa.Column("storage", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["archive_no"], ["households.archive_no"],
            name=op.f("fk_documents_archive_no_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )  # fmt: skip
    op.create_index("ix_documents_archive_no_uploaded", "documents", ["archive_no", "uploaded_at"])
    op.create_table(
        "document_contents",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("content_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"],
            name=op.f("fk_document_contents_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_contents")),
    )  # fmt: skip
    _keep("documents")
    _keep("document_contents")
    _ship_rules()


def _keep(table: str) -> None:
    """No row is deleted, whoever asks: the API has no such path, and the database
    refuses one written by hand (a test reset's TRUNCATE fires no row trigger)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_kept() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_KEPT}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_kept()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{_KEPT}'); END"
        )


def _rules() -> list[tuple[str, ...]]:
    return [tuple(part.strip() for part in rule.split(",")) for rule in RULES]


def _ship_rules() -> None:
    """Add the rules a database does not hold yet, and remember them as shipped."""
    bind = op.get_bind()
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        *(sa.column(f"v{i}", sa.String) for i in range(6)),
    )
    seen = set(bind.execute(sa.select(shipped.c.rule)).scalars())
    fresh = [rule for rule in _rules() if rule_key(rule) not in seen]
    if fresh:
        op.bulk_insert(shipped, [{"rule": rule_key(rule)} for rule in fresh])
        op.bulk_insert(rules, rule_rows(fresh))


def downgrade() -> None:
    # documents are records kept for their retention: refuse rather than drop them
    documents = sa.table("documents", sa.column("id", sa.String))
    held = op.get_bind().scalar(sa.select(sa.func.count()).select_from(documents))
    if held:
        raise RuntimeError("documents are held: the old schema cannot keep them")
    keys = [rule_key(rule) for rule in _rules()]
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    op.execute(sa.delete(shipped).where(shipped.c.rule.in_(keys)))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        sa.column("v0", sa.String),
        sa.column("v2", sa.String),
    )
    for rule in _rules():
        op.execute(
            sa.delete(rules).where(
                rules.c.ptype == "p", rules.c.v0 == rule[1], rules.c.v2 == rule[3]
            )
        )
    op.drop_table("document_contents")
    op.drop_table("documents")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS document_contents_kept()")
        op.execute("DROP FUNCTION IF EXISTS documents_kept()")
