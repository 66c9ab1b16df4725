"""Search tables: each request's search document (kept by the database), and saved views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime

# The full-text structures the models do not describe: SQLite's FTS5 table (and the shadow
# tables FTS5 keeps beside it) and PostgreSQL's GIN index. The migration builds them; Alembic's
# comparison skips them by this prefix (migrations/env.py).
FULL_TEXT_PREFIX = "search_fts"


def is_full_text_structure(name: str | None) -> bool:
    """True for the database's own full-text tables and indexes, built by the migration."""
    return name is not None and name.startswith(FULL_TEXT_PREFIX)


class RequestSearch(Base):
    """What one request is found by: its title, its text (need, context, resolution, updates,
    questions and answers) and the references and customers of its cases.

    Written only by the database's triggers (migrations `a7c3e9d2f415`, `b3f81d6c2e47`), whoever changes the
    request, its updates or its cases, in the same transaction; nothing in the app writes it.
    On PostgreSQL `vector` is the weighted tsvector the GIN index serves; SQLite leaves it empty
    and indexes these columns with FTS5 instead.
    """

    __tablename__ = "request_search"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    cases: Mapped[str] = mapped_column(Text, default="")
    # Who may read the request, as tokens (migration `b3f81d6c2e47`): `t<team>`, `p<person>`,
    # `public`. Searched together with the words, so the access rule narrows inside the index.
    scope: Mapped[str] = mapped_column(Text, default="", server_default="")
    vector: Mapped[str | None] = mapped_column(
        Text().with_variant(TSVECTOR(), "postgresql"), default=None, deferred=True
    )


class SavedView(Base):
    """A person's named filters for one list page (the team queue, my requests, the lead board,
    search), kept as the page's query string; only its owner sees it."""

    __tablename__ = "saved_view"
    # Also the index a person's list of views is read by.
    __table_args__ = (UniqueConstraint("person_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    name: Mapped[str] = mapped_column(String(80))
    page: Mapped[str] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
