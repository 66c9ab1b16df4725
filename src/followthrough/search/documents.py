"""Search documents made in bulk: for loaders that write many requests at once.

The database's triggers (migrations `a7c3e9d2f415`, `b3f81d6c2e47`) keep every request's search
document in step row by row, which is right for the desk and costly for a bulk load (each
request, update, participant and offer recomputes its request's document as it lands). A bulk
loader may instead suspend those triggers, write its rows, and make the documents of the
requests it wrote with one INSERT … SELECT (`rebuild_documents`), then resume the triggers:

    saved = suspend_triggers(connection)
    ... write the rows ...
    rebuild_documents(connection, first_id, last_id)
    resume_triggers(connection, saved)

all in one transaction, so nobody ever sees a request without its document. Nothing else may
write those tables meanwhile (the loader is the only writer, as the history import is).

`rebuild_documents` is the triggers' definition applied to a range of requests at once; a test
holds the two equal (tests/search/test_scope.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

CONVERSATION_KINDS = "('clarification_asked', 'clarification_answered')"
LAST_ID = 2_147_483_647

# The same statement as migration b3f81d6c2e47's SQLITE_DOCUMENT, for a range of requests.
_SQLITE_SCOPE = """coalesce((SELECT group_concat(tok, ' ') FROM (
  SELECT 't' || q.team_id AS tok FROM request q WHERE q.id = r.id
  UNION SELECT 'p' || q.requester_id FROM request q WHERE q.id = r.id
  UNION SELECT 'p' || q.owner_id FROM request q WHERE q.id = r.id
  UNION SELECT 'public' FROM request q WHERE q.id = r.id AND NOT q.confidential
  UNION SELECT 't' || s.team_id FROM request q JOIN service s ON s.id = q.service_id
        WHERE q.id = r.id AND q.confidential
  UNION SELECT 'p' || rp.person_id FROM request_participant rp
        JOIN request q ON q.id = rp.request_id WHERE rp.request_id = r.id AND NOT q.confidential
  UNION SELECT 't' || o.to_team_id FROM offer o
        WHERE o.request_id = r.id AND o.state = 'open' AND o.to_team_id IS NOT NULL
  UNION SELECT 'p' || o.to_person_id FROM offer o
        WHERE o.request_id = r.id AND o.state = 'open' AND o.to_person_id IS NOT NULL
  ORDER BY 1)), '')"""

_SQLITE_DOCUMENTS = f"""
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
  {_SQLITE_SCOPE}
FROM request r WHERE r.id BETWEEN :first_id AND :last_id
ON CONFLICT (request_id) DO UPDATE
SET title = excluded.title, body = excluded.body, cases = excluded.cases, scope = excluded.scope
WHERE (title, body, cases, scope)
  IS NOT (excluded.title, excluded.body, excluded.cases, excluded.scope)
"""


# PostgreSQL: the migration's `search_refresh_requests` (which the triggers call for one request)
# computed set-wise for a range: each part of a document grouped by request in one pass over its
# table, where the function runs `search_scope`'s eight subqueries and the body's three per
# request (and, its subquery being flattened into the outer SELECT, runs the scope and the body's
# twice: once for the column, once for the vector). Same documents (tests/search/test_scope.py).
_POSTGRESQL_DOCUMENTS = f"""
INSERT INTO request_search (request_id, title, body, cases, scope, vector)
SELECT d.id, d.title, d.body, d.cases, d.scope,
  setweight(to_tsvector('english', d.title), 'A')
  || setweight(to_tsvector('english', d.cases), 'A')
  || setweight(to_tsvector('english', d.body), 'B')
  || search_scope_vector(d.scope)
FROM (
  SELECT r.id, r.title,
    concat_ws(' ', r.need, r.context, r.resolution, u.bodies, e.words) AS body,
    coalesce(c.cases, '') AS cases,
    coalesce(s.scope, '') AS scope
  FROM request r
  LEFT JOIN (
    SELECT t.id, string_agg(DISTINCT t.tok, ' ' ORDER BY t.tok) AS scope FROM (
      SELECT q.id, tok COLLATE "C" AS tok FROM request q,
        unnest(ARRAY['t' || q.team_id, 'p' || q.requester_id, 'p' || q.owner_id,
                     CASE WHEN NOT q.confidential THEN 'public' END]) AS tok
      WHERE q.id BETWEEN :first_id AND :last_id
      UNION ALL SELECT q.id, 't' || s.team_id FROM request q JOIN service s ON s.id = q.service_id
        WHERE q.id BETWEEN :first_id AND :last_id AND q.confidential
      UNION ALL SELECT rp.request_id, 'p' || rp.person_id FROM request_participant rp
        JOIN request q ON q.id = rp.request_id
        WHERE rp.request_id BETWEEN :first_id AND :last_id AND NOT q.confidential
      UNION ALL SELECT o.request_id, 't' || o.to_team_id FROM offer o
        WHERE o.request_id BETWEEN :first_id AND :last_id AND o.state = 'open'
      UNION ALL SELECT o.request_id, 'p' || o.to_person_id FROM offer o
        WHERE o.request_id BETWEEN :first_id AND :last_id AND o.state = 'open'
    ) t WHERE t.tok IS NOT NULL GROUP BY t.id
  ) s ON s.id = r.id
  LEFT JOIN (
    SELECT u.request_id, string_agg(u.body, ' ' ORDER BY u.id) AS bodies FROM request_update u
    WHERE u.request_id BETWEEN :first_id AND :last_id GROUP BY u.request_id
  ) u ON u.request_id = r.id
  LEFT JOIN (
    SELECT e.request_id,
      string_agg(coalesce(e.payload->>'question', e.payload->>'answer', ''), ' ' ORDER BY e.id)
        AS words
    FROM event e WHERE e.request_id BETWEEN :first_id AND :last_id
    AND e.kind IN {CONVERSATION_KINDS} GROUP BY e.request_id
  ) e ON e.request_id = r.id
  LEFT JOIN (
    SELECT rc.request_id, string_agg(c.reference || ' ' || c.customer, ' ' ORDER BY c.id) AS cases
    FROM request_case rc JOIN customer_case c ON c.id = rc.case_id
    WHERE rc.request_id BETWEEN :first_id AND :last_id GROUP BY rc.request_id
  ) c ON c.request_id = r.id
  WHERE r.id BETWEEN :first_id AND :last_id
) d
ON CONFLICT (request_id) DO UPDATE
SET title = excluded.title, body = excluded.body, cases = excluded.cases,
    scope = excluded.scope, vector = excluded.vector
WHERE (request_search.title, request_search.body, request_search.cases, request_search.scope)
  IS DISTINCT FROM (excluded.title, excluded.body, excluded.cases, excluded.scope)
"""


@dataclass(frozen=True)
class SuspendedTriggers:
    """What `suspend_triggers` took away, to put back."""

    dialect: str
    # SQLite: the CREATE TRIGGER statements dropped; PostgreSQL: (table, trigger) disabled.
    statements: tuple[str, ...] = ()
    disabled: tuple[tuple[str, str], ...] = ()


def suspend_triggers(connection: Connection) -> SuspendedTriggers:
    """Stop the desk tables' search triggers (not the index's own triggers on the documents).

    SQLite cannot disable a trigger, so they are dropped and their definitions kept."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND t.tgname LIKE 'search\\_%'"
                " AND c.relname <> 'request_search' ORDER BY 1, 2"
            )
        ).all()
        for table, trigger in rows:
            connection.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"'))
        return SuspendedTriggers("postgresql", disabled=tuple((r[0], r[1]) for r in rows))
    rows = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND name LIKE 'search\\_%' ESCAPE '\\' AND tbl_name <> 'request_search'"
            " ORDER BY name"
        )
    ).all()
    for name, _ in rows:
        connection.execute(text(f'DROP TRIGGER "{name}"'))
    return SuspendedTriggers("sqlite", statements=tuple(r[1] for r in rows))


def resume_triggers(connection: Connection, suspended: SuspendedTriggers) -> None:
    """Put back what `suspend_triggers` took away."""
    for table, trigger in suspended.disabled:
        connection.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"'))
    for statement in suspended.statements:
        connection.exec_driver_sql(statement)


def rebuild_documents(connection: Connection, first_id: int = 0, last_id: int = LAST_ID) -> None:
    """Make (or correct) the search documents of requests `first_id`..`last_id` in one
    statement, as the triggers would have; unchanged documents are not rewritten."""
    bounds = {"first_id": first_id, "last_id": last_id}
    postgresql = connection.dialect.name == "postgresql"
    connection.execute(text(_POSTGRESQL_DOCUMENTS if postgresql else _SQLITE_DOCUMENTS), bounds)


def rebuild_case_index(connection: Connection) -> None:
    """SQLite's trigram index of cases, made again from the cases (after a bulk load of cases
    with the triggers suspended). PostgreSQL's indexes need nothing."""
    if connection.dialect.name != "postgresql":
        connection.execute(text("INSERT INTO search_fts_case (search_fts_case) VALUES ('rebuild')"))
