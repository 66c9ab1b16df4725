"""search scope: each search document says who may read its request; cases by trigram

Why: a search counted and ranked every request whose words matched in the whole desk, then
joined each one to its row to apply the access rule, so its cost grew with the desk (a common
word matches a third of a million requests) rather than with what the viewer may read. Now each
document also holds *scope tokens*, kept by the same triggers, that encode the access rule
(`requests.access.visibility_clause`) row by row:

- `t<team>` for the team holding the request, and for a confidential request also the team
  owning its service;
- `p<person>` for its requester and owner, its participants (only when it is not
  confidential: taking part does not open a confidential request), and the team or person an
  open offer names (`t…`/`p…`);
- `public` when it is not confidential (what admins may read).

A viewer's search then asks the index for `text AND scope: (t<their teams> OR p<them>)`, so the
narrowing happens inside the full-text index, and the count is the index's count. A test holds
the tokens to the rule for many viewers (tests/search/test_scope.py).

Documents are only rewritten when something in them changes (the upserts compare first), so a
participant added who is already the requester costs one lookup, not an index rewrite.

Cases (reference, customer) are found by substring as before, now through a trigram index
(SQLite's FTS5 trigram tokenizer; PostgreSQL's pg_trgm), instead of scanning every case.

SQLite's text index gains prefix indexes of 4 to 8 characters: the last word typed is matched
as a prefix, and without an index of its length FTS5 merges the whole desk's entries of every
word that starts with it before narrowing ("refund" took 33 ms at a million requests, 8 ms with
the index of 6; the index grew 14%). Longer prefixes still work, more slowly.

Revision ID: b3f81d6c2e47
Revises: e8f2a4c6b913
Create Date: 2026-12-01 12:00:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "b3f81d6c2e47"
down_revision: str | None = "e8f2a4c6b913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONVERSATION_KINDS = "('clarification_asked', 'clarification_answered')"


def _previous() -> ModuleType:
    """The search migration this one replaces the triggers of (for the downgrade)."""
    path = Path(__file__).with_name("2026_12_01_a7c3e9d2f415_search.py")
    spec = importlib.util.spec_from_file_location("search_a7c3e9d2f415", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- SQLite ---------------------------------------------------------------------------------

# The scope tokens of request {rid}, sorted, space-separated ('' for none).
SQLITE_SCOPE = """coalesce((SELECT group_concat(tok, ' ') FROM (
  SELECT 't' || q.team_id AS tok FROM request q WHERE q.id = {rid}
  UNION SELECT 'p' || q.requester_id FROM request q WHERE q.id = {rid}
  UNION SELECT 'p' || q.owner_id FROM request q WHERE q.id = {rid}
  UNION SELECT 'public' FROM request q WHERE q.id = {rid} AND NOT q.confidential
  UNION SELECT 't' || s.team_id FROM request q JOIN service s ON s.id = q.service_id
        WHERE q.id = {rid} AND q.confidential
  UNION SELECT 'p' || rp.person_id FROM request_participant rp
        JOIN request q ON q.id = rp.request_id WHERE rp.request_id = {rid} AND NOT q.confidential
  UNION SELECT 't' || o.to_team_id FROM offer o
        WHERE o.request_id = {rid} AND o.state = 'open' AND o.to_team_id IS NOT NULL
  UNION SELECT 'p' || o.to_person_id FROM offer o
        WHERE o.request_id = {rid} AND o.state = 'open' AND o.to_person_id IS NOT NULL
  ORDER BY 1)), '')"""

SQLITE_DOCUMENT = f"""
INSERT INTO request_search (request_id, title, body, cases, scope)
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
            WHERE rc.request_id = r.id), ''),
  {SQLITE_SCOPE.format(rid="r.id")}
FROM request r WHERE {{which}}
ON CONFLICT (request_id) DO UPDATE
SET title = excluded.title, body = excluded.body, cases = excluded.cases, scope = excluded.scope
WHERE (title, body, cases, scope)
  IS NOT (excluded.title, excluded.body, excluded.cases, excluded.scope)
"""

SQLITE_SCOPE_UPDATE = (
    "UPDATE request_search SET scope = {scope} WHERE request_id {which} AND scope IS NOT {scope}"
)

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

# (trigger name, when it fires, which requests' scopes it recomputes): who may read changed.
SQLITE_SCOPE_TRIGGERS = (
    (
        "search_scope_request",
        "AFTER UPDATE OF team_id, owner_id, requester_id, confidential, service_id ON request",
        "= NEW.id",
    ),
    ("search_scope_participant_insert", "AFTER INSERT ON request_participant", "= NEW.request_id"),
    ("search_scope_participant_delete", "AFTER DELETE ON request_participant", "= OLD.request_id"),
    ("search_scope_offer_insert", "AFTER INSERT ON offer", "= NEW.request_id"),
    (
        "search_scope_offer_update",
        "AFTER UPDATE OF state, to_team_id, to_person_id, request_id ON offer",
        "IN (NEW.request_id, OLD.request_id)",
    ),
    ("search_scope_offer_delete", "AFTER DELETE ON offer", "= OLD.request_id"),
    (
        "search_scope_service",
        "AFTER UPDATE OF team_id ON service",
        "IN (SELECT q.id FROM request q WHERE q.service_id = NEW.id AND q.confidential)",
    ),
)

# FTS5's external-content pattern: the index follows the document table row for row (and an
# update that changed nothing indexed leaves the index alone).
FTS_ROW = "rowid, title, body, cases, scope"
SQLITE_FTS_TRIGGERS = (
    (
        "search_fts_request_insert",
        "AFTER INSERT ON request_search",
        f"INSERT INTO search_fts_request ({FTS_ROW})"
        " VALUES (NEW.request_id, NEW.title, NEW.body, NEW.cases, NEW.scope);",
    ),
    (
        "search_fts_request_delete",
        "AFTER DELETE ON request_search",
        f"INSERT INTO search_fts_request (search_fts_request, {FTS_ROW})"
        " VALUES ('delete', OLD.request_id, OLD.title, OLD.body, OLD.cases, OLD.scope);",
    ),
    (
        "search_fts_request_update",
        "AFTER UPDATE ON request_search WHEN (OLD.title, OLD.body, OLD.cases, OLD.scope)"
        " IS NOT (NEW.title, NEW.body, NEW.cases, NEW.scope)",
        f"INSERT INTO search_fts_request (search_fts_request, {FTS_ROW})"
        " VALUES ('delete', OLD.request_id, OLD.title, OLD.body, OLD.cases, OLD.scope);"
        f" INSERT INTO search_fts_request ({FTS_ROW})"
        " VALUES (NEW.request_id, NEW.title, NEW.body, NEW.cases, NEW.scope);",
    ),
    (
        "search_fts_case_insert",
        "AFTER INSERT ON customer_case",
        "INSERT INTO search_fts_case (rowid, reference, customer)"
        " VALUES (NEW.id, NEW.reference, NEW.customer);",
    ),
    (
        "search_fts_case_delete",
        "AFTER DELETE ON customer_case",
        "INSERT INTO search_fts_case (search_fts_case, rowid, reference, customer)"
        " VALUES ('delete', OLD.id, OLD.reference, OLD.customer);",
    ),
    (
        "search_fts_case_update",
        "AFTER UPDATE OF reference, customer ON customer_case",
        "INSERT INTO search_fts_case (search_fts_case, rowid, reference, customer)"
        " VALUES ('delete', OLD.id, OLD.reference, OLD.customer);"
        " INSERT INTO search_fts_case (rowid, reference, customer)"
        " VALUES (NEW.id, NEW.reference, NEW.customer);",
    ),
)


def _sqlite_upgrade() -> None:
    previous = _previous()
    for name, *_ in (*previous.SQLITE_TRIGGERS, *previous.SQLITE_FTS_TRIGGERS):
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE search_fts_request")
    op.execute("ALTER TABLE request_search ADD COLUMN scope TEXT NOT NULL DEFAULT ''")
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_request USING fts5(title, body, cases, scope,"
        " content='request_search', content_rowid='request_id',"
        " tokenize='porter unicode61 remove_diacritics 2', prefix='2 3 4 5 6 7 8')"
    )
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_case USING fts5(reference, customer,"
        " content='customer_case', content_rowid='id', tokenize='trigram')"
    )
    # Every document's scope before the index's triggers exist: an update through them would
    # first delete each document's old words from the new, still empty index, which FTS5
    # answers with "database disk image is malformed". The rebuild below indexes them all.
    op.execute(
        "UPDATE request_search SET scope = " + SQLITE_SCOPE.format(rid="request_search.request_id")
    )
    for name, when, action in SQLITE_FTS_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {action} END")
    for name, when, which in SQLITE_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {SQLITE_DOCUMENT.format(which=which)}; END")
    for name, when, which in SQLITE_SCOPE_TRIGGERS:
        update = SQLITE_SCOPE_UPDATE.format(
            scope=SQLITE_SCOPE.format(rid="request_search.request_id"), which=which
        )
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {update}; END")
    op.execute("INSERT INTO search_fts_request (search_fts_request) VALUES ('rebuild')")
    op.execute("INSERT INTO search_fts_case (search_fts_case) VALUES ('rebuild')")


def _sqlite_downgrade() -> None:
    previous = _previous()
    for name, *_ in (*SQLITE_TRIGGERS, *SQLITE_SCOPE_TRIGGERS, *SQLITE_FTS_TRIGGERS):
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE search_fts_case")
    op.execute("DROP TABLE search_fts_request")
    op.execute("ALTER TABLE request_search DROP COLUMN scope")
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_request USING fts5(title, body, cases,"
        " content='request_search', content_rowid='request_id',"
        " tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')"
    )
    for name, when, action in previous.SQLITE_FTS_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {action} END")
    for name, when, which in previous.SQLITE_TRIGGERS:
        document = previous.SQLITE_DOCUMENT.format(which=which)
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {document}; END")
    op.execute("INSERT INTO search_fts_request (search_fts_request) VALUES ('rebuild')")


# ---- PostgreSQL -----------------------------------------------------------------------------

# Scope tokens go into the same tsvector as the words, each prefixed with `~` (which the text
# parser never leaves in a word), so `words & ('~t4' | '~p86')` is one GIN search that skips
# through the common word's entries by the rare scope entries.
PG_SCOPE = """
CREATE OR REPLACE FUNCTION search_scope(rid integer) RETURNS text LANGUAGE sql STABLE AS $$
SELECT coalesce(string_agg(tok, ' ' ORDER BY tok COLLATE "C"), '') FROM (
  SELECT 't' || q.team_id AS tok FROM request q WHERE q.id = rid
  UNION SELECT 'p' || q.requester_id FROM request q WHERE q.id = rid
  UNION SELECT 'p' || q.owner_id FROM request q WHERE q.id = rid
  UNION SELECT 'public' FROM request q WHERE q.id = rid AND NOT q.confidential
  UNION SELECT 't' || s.team_id FROM request q JOIN service s ON s.id = q.service_id
        WHERE q.id = rid AND q.confidential
  UNION SELECT 'p' || rp.person_id FROM request_participant rp
        JOIN request q ON q.id = rp.request_id WHERE rp.request_id = rid AND NOT q.confidential
  UNION SELECT 't' || o.to_team_id FROM offer o
        WHERE o.request_id = rid AND o.state = 'open' AND o.to_team_id IS NOT NULL
  UNION SELECT 'p' || o.to_person_id FROM offer o
        WHERE o.request_id = rid AND o.state = 'open' AND o.to_person_id IS NOT NULL
) t
$$
"""

PG_SCOPE_VECTOR = """
CREATE OR REPLACE FUNCTION search_scope_vector(scope text) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
SELECT array_to_tsvector(coalesce(
  array(SELECT '~' || t FROM unnest(string_to_array(scope, ' ')) t WHERE t <> ''), '{}'))
$$
"""

PG_REFRESH = f"""
CREATE OR REPLACE FUNCTION search_refresh_requests(first_id integer, last_id integer)
RETURNS void LANGUAGE sql AS $$
INSERT INTO request_search (request_id, title, body, cases, scope, vector)
SELECT d.id, d.title, d.body, d.cases, d.scope,
  setweight(to_tsvector('english', d.title), 'A')
  || setweight(to_tsvector('english', d.cases), 'A')
  || setweight(to_tsvector('english', d.body), 'B')
  || search_scope_vector(d.scope)
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
              WHERE rc.request_id = r.id), '') AS cases,
    search_scope(r.id) AS scope
  FROM request r WHERE r.id BETWEEN first_id AND last_id
) d
ON CONFLICT (request_id) DO UPDATE
SET title = excluded.title, body = excluded.body, cases = excluded.cases,
    scope = excluded.scope, vector = excluded.vector
WHERE (request_search.title, request_search.body, request_search.cases, request_search.scope)
  IS DISTINCT FROM (excluded.title, excluded.body, excluded.cases, excluded.scope)
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
    "search_on_offer": (
        "IF TG_OP <> 'INSERT' THEN PERFORM search_refresh_requests(OLD.request_id,"
        " OLD.request_id); END IF;"
        " IF TG_OP <> 'DELETE' THEN PERFORM search_refresh_requests(NEW.request_id,"
        " NEW.request_id); END IF;"
    ),
    "search_on_service": (
        "PERFORM search_refresh_requests(q.id, q.id)"
        " FROM request q WHERE q.service_id = NEW.id AND q.confidential;"
    ),
}

# (trigger name, when it fires, the function it runs)
PG_TRIGGERS = (
    ("search_request_insert", "AFTER INSERT ON request", "search_on_request"),
    (
        "search_request_update",
        "AFTER UPDATE OF title, need, context, resolution, team_id, owner_id, requester_id,"
        " confidential, service_id ON request",
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
    (
        "search_participant_change",
        "AFTER INSERT OR DELETE ON request_participant",
        "search_on_part",
    ),
    (
        "search_offer_change",
        "AFTER INSERT OR UPDATE OF state, to_team_id, to_person_id, request_id OR DELETE ON offer",
        "search_on_offer",
    ),
    ("search_service_team", "AFTER UPDATE OF team_id ON service", "search_on_service"),
)

PG_CASE_INDEXES = (
    "CREATE INDEX search_fts_case_reference ON customer_case USING gin (reference gin_trgm_ops)",
    "CREATE INDEX search_fts_case_customer ON customer_case USING gin (customer gin_trgm_ops)",
)


def _pg_trigger(name: str, when: str, function: str) -> str:
    each = "" if "FOR EACH ROW" in when else " FOR EACH ROW"
    return f"CREATE TRIGGER {name} {when}{each} EXECUTE FUNCTION {function}()"


def _pg_drop_triggers(triggers: Sequence[tuple[str, str, str]], functions: Sequence[str]) -> None:
    for name, when, _ in triggers:
        table = when.split(" ON ")[-1].split()[0]
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in functions:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION search_refresh_requests(integer, integer)")


def _pg_upgrade() -> None:
    previous = _previous()
    _pg_drop_triggers(previous.PG_TRIGGERS, list(previous.PG_FUNCTIONS))
    op.add_column(
        "request_search", sa.Column("scope", sa.Text(), nullable=False, server_default="")
    )
    op.execute(PG_SCOPE)
    op.execute(PG_SCOPE_VECTOR)
    op.execute(PG_REFRESH)
    for name, body in PG_FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body} RETURN NULL; END $$"
        )
    for trigger in PG_TRIGGERS:
        op.execute(_pg_trigger(*trigger))
    op.execute("SELECT search_refresh_requests(0, 2147483647)")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index in PG_CASE_INDEXES:
        op.execute(index)


def _pg_downgrade() -> None:
    previous = _previous()
    for index in PG_CASE_INDEXES:
        op.execute(f"DROP INDEX {index.split()[2]}")
    # Nothing else uses trigram matching; the database is left as this migration found it.
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    _pg_drop_triggers(PG_TRIGGERS, list(PG_FUNCTIONS))
    op.execute("DROP FUNCTION search_scope_vector(text)")
    op.execute("DROP FUNCTION search_scope(integer)")
    op.drop_column("request_search", "scope")
    op.execute(previous.PG_REFRESH)
    for name, body in previous.PG_FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body} RETURN NULL; END $$"
        )
    for trigger in previous.PG_TRIGGERS:
        op.execute(previous._pg_trigger(*trigger))
    # Every vector held scope lexemes; the previous definition makes them again without.
    op.execute("DELETE FROM request_search")
    op.execute("SELECT search_refresh_requests(0, 2147483647)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_downgrade()
    else:
        _sqlite_downgrade()
