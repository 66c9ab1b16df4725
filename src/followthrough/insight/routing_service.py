"""Routing suggestions over the database: the resolved history, indexed once per change."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.insight.routing import (
    ResolvedExample,
    RoutingAccuracy,
    TextIndex,
    embedding_index,
    embeddings_available,
    held_out_accuracy,
    rank_teams,
    tfidf_index,
)
from followthrough.org.models import Person, Team
from followthrough.requests.models import Offer, PathStep, Request

# The newest resolved requests are the relevant ones (teams and catalogues change).
INDEX_LIMIT = 5000


@dataclass(frozen=True)
class SuggestedPerson:
    person_id: int
    name: str
    share: float


@dataclass(frozen=True)
class TeamSuggestion:
    """A team to send the request to, how strongly, and who there resolved similar ones."""

    team_id: int
    team_name: str
    score: float
    similar_requests: int
    people: tuple[SuggestedPerson, ...]


def resolved_examples(
    session: Session, limit: int | None = INDEX_LIMIT, confidential: bool = False
) -> list[ResolvedExample]:
    """Resolved requests, oldest first: the team that resolved each, and the teams it passed.

    A team passed a request on if it declined an offer of it, or the request left that team
    for another before being resolved. Confidential requests are left out unless asked for:
    suggestions are shown to anyone raising a request.
    """
    query = (
        select(Request.id, Request.title, Request.need, Request.team_id, Request.owner_id)
        .where(Request.resolved_at.is_not(None))
        .order_by(Request.resolved_at.desc(), Request.id.desc())
    )
    if not confidential:
        query = query.where(Request.confidential.is_(False))
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    ids = [row.id for row in rows]
    passed: dict[int, set[int]] = defaultdict(set)
    for chunk in range(0, len(ids), 2000):
        part = ids[chunk : chunk + 2000]
        for request_id, team_id in session.execute(
            select(Offer.request_id, Offer.to_team_id).where(
                Offer.request_id.in_(part), Offer.state == "declined"
            )
        ):
            passed[request_id].add(team_id)
        for request_id, team_id in session.execute(
            select(PathStep.request_id, PathStep.team_id).where(PathStep.request_id.in_(part))
        ):
            passed[request_id].add(team_id)
    return [
        ResolvedExample(
            text=f"{row.title} {row.need}",
            team_id=row.team_id,
            resolver_id=row.owner_id,
            passed_on_by=tuple(sorted(passed[row.id] - {row.team_id})),
        )
        for row in reversed(rows)
    ]


_cache: dict[tuple[str, int, int], TextIndex] = {}
_cache_lock = threading.Lock()


def _index(session: Session) -> TextIndex:
    """The TF-IDF index of the resolved history, rebuilt only when the history has changed."""
    count, newest = session.execute(
        select(func.count(), func.max(Request.id)).where(Request.resolved_at.is_not(None))
    ).one()
    key = (str(session.get_bind().engine.url), int(count), int(newest or 0))
    with _cache_lock:
        index = _cache.get(key)
    if index is None:
        index = tfidf_index(resolved_examples(session))
        with _cache_lock:
            _cache.clear()
            _cache[key] = index
    return index


def suggest_teams(session: Session, text: str, limit: int = 3) -> list[TeamSuggestion]:
    """The teams most likely to resolve a request described by `text`, best first.

    Empty when the text is blank or nothing similar was ever resolved.
    """
    if not text.strip():
        return []
    ranked = rank_teams(_index(session).nearest(text), limit)
    if not ranked:
        return []
    team_ids = [t.team_id for t in ranked]
    person_ids = [p.person_id for t in ranked for p in t.people]
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    people = dict(
        session.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids))).all()
    )
    return [
        TeamSuggestion(
            team_id=t.team_id,
            team_name=str(teams[t.team_id]),
            score=round(t.score, 3),
            similar_requests=t.similar,
            people=tuple(
                SuggestedPerson(p.person_id, str(people[p.person_id]), round(p.score, 3))
                for p in t.people
                if p.person_id in people
            ),
        )
        for t in ranked
        if t.team_id in teams
    ]


def routing_accuracy(
    session: Session, test_share: float = 0.2, embeddings: bool | None = None
) -> list[RoutingAccuracy]:
    """Top-1/top-3 accuracy on the newest `test_share` of resolved requests, trained on the rest.

    The split is by resolution time, never random. Embeddings are measured too when installed
    (or when `embeddings` is True).
    """
    examples = resolved_examples(session, limit=None, confidential=True)
    cut = int(len(examples) * (1.0 - test_share))
    train, test = examples[:cut], examples[cut:]
    methods: list[tuple[str, Callable[[Sequence[ResolvedExample]], TextIndex]]] = [
        ("TF-IDF", tfidf_index),
        ("TF-IDF, no transfer re-ranking", tfidf_index),
    ]
    if embeddings if embeddings is not None else embeddings_available():
        methods.append(("sentence embeddings (all-MiniLM-L6-v2)", embedding_index))
    results = []
    for name, index_of in methods:
        penalty = 0.0 if "no transfer" in name else 0.5
        results.append(held_out_accuracy(train, test, index_of, name, penalty))
    return results
