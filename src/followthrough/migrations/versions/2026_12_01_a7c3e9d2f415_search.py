"""search: each request's search document kept by triggers, the full-text indexes, saved views

Why triggers rather than the services: a request's text is written by the desk's services, the
history importer's bulk rows, the demo and the benchmarks' loaders (straight to the driver), and
by hand in an emergency. Triggers keep the document in step with every one of them, in the
writer's own transaction, as the organisation's revision triggers do; a service-kept index
would silently miss whatever did not call it.

The document (`request_search`) holds the request's title; its text (need, context,
resolution, updates, clarification questions and answers); and the references and customers of
its cases. It is recomputed whole from those rows whenever one of them changes (one statement,
one definition per database), so it can never drift by appending.

- SQLite: FTS5 over `request_search` as external content (`search_fts_request`), Porter
  stemming over unicode61 with diacritics folded, prefix indexes of 2 and 3 characters so that a
  word being typed ("po", "pol") is a lookup rather than a scan of the vocabulary.
- PostgreSQL: a weighted tsvector (title and cases A, text B, English stemming) in
  `request_search.vector` with a GIN index; one SQL function computes the documents of a range
  of requests, for the triggers (one request) and for bulk loads (all of them).

Revision ID: a7c3e9d2f415
Revises: 8b4d0a2c3e56
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7c3e9d2f415"
down_revision: str | None = "8b4d0a2c3e56"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONVERSATION_KINDS = "('clarification_asked', 'clarification_answered')"

# ---- SQLite ---------------------------------------------------------------------------------

SQLITE_DOCUMENT = f"""
INSERT INTO request_search (request_id, title, body, cases)
SELECT r.id, r.title,
  coalesce(r.need, '') || ' ' || coalesce(r.context, '') || ' ' || coalesce(r.resolution, '')
  || ' ' || coalesce((SELECT group_concat(u.body, ' ') FROM request_update u
                      WHERE u.request_id = r.id), '')
  || ' ' || coalesce((SELECT group_concat(coalesce(json_extract(e.payload, '$.question'),
                                                   json_extract(e.payload, '$.answer'), ''), ' ')
                      FROM event e WHERE e.request_id = r.id
                      AND e.kind IN {CONVERSATION_KINDS}), ''),
  coalesce((SELECT group_concat(c.reference || ' ' || c.customer, ' ')
            FROM request_case rc JOIN customer_case c ON c.id = rc.case_id
            WHERE rc.request_id = r.id), '')
FROM request r WHERE {{which}}
ON CONFLICT (request_id) DO UPDATE
SET title = excluded.title, body = excluded.body, cases = excluded.cases
"""

# (trigger name, when it fires, which requests' documents it recomputes)
SQLITE_TRIGGERS = (
    ("search_request_insert", "AFTER INSERT ON request", "r.id = NEW.id"),
    (
        "search_request_update",
        "AFTER UPDATE OF title, need, context, resolution ON request",
        "r.id = NEW.id",
    ),
    ("search_update_insert", "AFTER INSERT ON request_update", "r.id = NEW.request_id"),
    ("search_update_update", "AFTER UPDATE ON request_update", "r.id = NEW.request_id"),
    ("search_update_delete", "AFTER DELETE ON request_update", "r.id = OLD.request_id"),
    (
        "search_event_insert",
        f"AFTER INSERT ON event WHEN NEW.kind IN {CONVERSATION_KINDS}",
        "r.id = NEW.request_id",
    ),
    ("search_case_link_insert", "AFTER INSERT ON request_case", "r.id = NEW.request_id"),
    ("search_case_link_delete", "AFTER DELETE ON request_case", "r.id = OLD.request_id"),
    (
        "search_case_update",
        "AFTER UPDATE OF reference, customer ON customer_case",
        "r.id IN (SELECT rc.request_id FROM request_case rc WHERE rc.case_id = NEW.id)",
    ),
)

# FTS5's external-content pattern: the index follows the document table row for row.
FTS_ROW = "rowid, title, body, cases"
SQLITE_FTS_TRIGGERS = (
    (
        "search_fts_request_insert",
        "AFTER INSERT ON request_search",
        f"INSERT INTO search_fts_request ({FTS_ROW})"
        " VALUES (NEW.request_id, NEW.title, NEW.body, NEW.cases);",
    ),
    (
        "search_fts_request_delete",
        "AFTER DELETE ON request_search",
        f"INSERT INTO search_fts_request (search_fts_request, {FTS_ROW})"
        " VALUES ('delete', OLD.request_id, OLD.title, OLD.body, OLD.cases);",
    ),
    (
        "search_fts_request_update",
        "AFTER UPDATE ON request_search",
        f"INSERT INTO search_fts_request (search_fts_request, {FTS_ROW})"
        " VALUES ('delete', OLD.request_id, OLD.title, OLD.body, OLD.cases);"
        f" INSERT INTO search_fts_request ({FTS_ROW})"
        " VALUES (NEW.request_id, NEW.title, NEW.body, NEW.cases);",
    ),
)

# ---- PostgreSQL -----------------------------------------------------------------------------

# CREATE OR REPLACE: resetting a PostgreSQL database by dropping its tables (the demo does)
# leaves functions behind, and migrating it again must not fail on them.
PG_REFRESH = f"""
CREATE OR REPLACE FUNCTION search_refresh_requests(first_id integer, last_id integer)
RETURNS void LANGUAGE sql AS $$
INSERT INTO request_search (request_id, title, body, cases, vector)
SELECT d.id, d.title, d.body, d.cases,
  setweight(to_tsvector('english', d.title), 'A')
  || setweight(to_tsvector('english', d.cases), 'A')
  || setweight(to_tsvector('english', d.body), 'B')
FROM (
  SELECT r.id, r.title,
    concat_ws(' ', r.need, r.context, r.resolution,
      (SELECT string_agg(u.body, ' ' ORDER BY u.id) FROM request_update u
       WHERE u.request_id = r.id),
      (SELECT string_agg(coalesce(e.payload->>'question', e.payload->>'answer', ''), ' '
                         ORDER BY e.id)
       FROM event e WHERE e.request_id = r.id AND e.kind IN {CONVERSATION_KINDS})) AS body,
    coalesce((SELECT string_agg(c.reference || ' ' || c.customer, ' ' ORDER BY c.id)
              FROM request_case rc JOIN customer_case c ON c.id = rc.case_id
              WHERE rc.request_id = r.id), '') AS cases
  FROM request r WHERE r.id BETWEEN first_id AND last_id
) d
ON CONFLICT (request_id) DO UPDATE
SET title = excluded.title, body = excluded.body, cases = excluded.cases, vector = excluded.vector
$$
"""

PG_FUNCTIONS = {
    "search_on_request": "PERFORM search_refresh_requests(NEW.id, NEW.id);",
    "search_on_part": (
        "IF TG_OP = 'DELETE' THEN PERFORM search_refresh_requests(OLD.request_id, OLD.request_id);"
        " ELSE PERFORM search_refresh_requests(NEW.request_id, NEW.request_id); END IF;"
    ),
    "search_on_case": (
        "PERFORM search_refresh_requests(rc.request_id, rc.request_id)"
        " FROM request_case rc WHERE rc.case_id = NEW.id;"
    ),
}

# (trigger name, when it fires, the function it runs)
PG_TRIGGERS = (
    ("search_request_insert", "AFTER INSERT ON request", "search_on_request"),
    (
        "search_request_update",
        "AFTER UPDATE OF title, need, context, resolution ON request",
        "search_on_request",
    ),
    (
        "search_update_change",
        "AFTER INSERT OR UPDATE OR DELETE ON request_update",
        "search_on_part",
    ),
    (
        "search_event_insert",
        f"AFTER INSERT ON event FOR EACH ROW WHEN (NEW.kind IN {CONVERSATION_KINDS}"
        " AND NEW.request_id IS NOT NULL)",
        "search_on_part",
    ),
    ("search_case_link_change", "AFTER INSERT OR DELETE ON request_case", "search_on_part"),
    (
        "search_case_update",
        "AFTER UPDATE OF reference, customer ON customer_case",
        "search_on_case",
    ),
)


def _pg_trigger(name: str, when: str, function: str) -> str:
    each = "" if "FOR EACH ROW" in when else " FOR EACH ROW"
    return f"CREATE TRIGGER {name} {when}{each} EXECUTE FUNCTION {function}()"


def upgrade() -> None:
    op.create_table(
        "request_search",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cases", sa.Text(), nullable=False),
        sa.Column(
            "vector", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
            name=op.f("fk_request_search_request_id_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_search")),
    )
    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("page", sa.String(length=16), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_saved_view_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_view")),
        sa.UniqueConstraint("person_id", "name", name=op.f("uq_saved_view_person_id")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_REFRESH)
        for name, body in PG_FUNCTIONS.items():
            op.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN {body} RETURN NULL; END $$"
            )
        for trigger in PG_TRIGGERS:
            op.execute(_pg_trigger(*trigger))
        op.execute("SELECT search_refresh_requests(0, 2147483647)")
        op.execute("CREATE INDEX search_fts_request_vector ON request_search USING gin (vector)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_request USING fts5(title, body, cases,"
        " content='request_search', content_rowid='request_id',"
        " tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')"
    )
    for name, when, action in SQLITE_FTS_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {action} END")
    for name, when, which in SQLITE_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {SQLITE_DOCUMENT.format(which=which)}; END")
    op.execute(SQLITE_DOCUMENT.format(which="true"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, when, _ in PG_TRIGGERS:
            table = when.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
        op.execute("DROP FUNCTION search_refresh_requests(integer, integer)")
    else:
        for name, *_ in (*SQLITE_TRIGGERS, *SQLITE_FTS_TRIGGERS):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE search_fts_request")
    op.drop_table("saved_view")
    op.drop_table("request_search")
