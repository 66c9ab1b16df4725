"""Who may call each route: one named rule per route of the app, in one table.

The rules themselves live where the data is (`requests.access` for requests, the Insight
privacy rule for figures, the organisation's roles for admins and leads); this table says which
one guards each route, so a reviewer reads every route's authorisation in one place and
tests/web/test_authorisation.py can check each route, as each role, against what its rule
promises. A route missing here, or a row for a route that no longer exists, fails that test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A rule in the users' words: who may call a route and what everyone else gets."""

    name: str
    who: str
    refusals: frozenset[int] = frozenset()
    """The statuses a signed-in caller outside the rule gets (the API description lists them)."""


PUBLIC = Rule("public", "Anyone, signed in or not.")
YOURSELF = Rule(
    "yourself",
    "Any signed-in person, about themselves only (their tokens, inbox, feedback); "
    "anyone else is asked to sign in.",
)
SIGNED_IN = Rule(
    "signed in",
    "Any signed-in person; lists and searches hold only the requests they may read.",
)
DIRECTORY = Rule(
    "directory",
    "Any signed-in person: the organisation's departments, teams, people and services.",
)
ADMIN = Rule("admin", "Admins only; anyone else signed in gets 403.", frozenset({403}))
LEAD = Rule(
    "lead", "A lead of some team, or an admin; anyone else signed in gets 403.", frozenset({403})
)
TEAM_MEMBER = Rule(
    "team member",
    "Members of the team in the path answer its offers; anyone else signed in gets 403 or 404.",
    frozenset({403, 404}),
)
TEAM_LEAD = Rule(
    "team lead",
    "The lead of the team in the path, or an admin; anyone else signed in gets 403.",
    frozenset({403}),
)
RAISE = Rule("raise", "Any signed-in person may raise a request.")
REQUEST_READER = Rule(
    "request reader",
    "Whoever may read the request in the path (requests.access); anyone else gets 404, "
    "as if it did not exist.",
    frozenset({404}),
)
REQUEST_CHANGE = Rule(
    "request change",
    "A reader of the request whose part in it allows the change (the lifecycle rules); "
    "other readers get 403 or 409, anyone else 404.",
    frozenset({403, 404, 409}),
)
REQUEST_ATTACHMENT = Rule(
    "request attachment",
    "Whoever may read the request in the path downloads its attachments; anyone else gets "
    "404, as if it did not exist.",
    frozenset({404}),
)
REQUEST_WORKERS = Rule(
    "request workers",
    "The people working the request in the path (its owner; the teams holding it, in its "
    "path or named by an open offer) read and add its internal notes; its other readers get "
    "403, anyone else 404.",
    frozenset({403, 404}),
)
CASE_READER = Rule(
    "case reader",
    "Any signed-in person sees a case's reference and customer; of its requests, and of "
    "the hours they held the customer, only those they may read.",
)
READABLE_FIGURES = Rule(
    "readable figures",
    "Any signed-in person; the figures count only the requests they may read.",
)
GROUP_FIGURES = Rule(
    "group figures",
    "Team and department figures for anyone signed in (a small group's withheld unless "
    "one is in it); a person's only for that person and their leads, 404 for anyone else.",
    frozenset({404}),
)
PERSON_FIGURES = Rule(
    "individual figures",
    "About the people one leads: their leads see them and decide; anyone else sees none "
    "and gets 404 for a named person.",
    frozenset({404}),
)
COMPANY_FIGURES = Rule(
    "company figures",
    "Any signed-in person: counts between teams and departments that name no request and "
    "no person below the group size.",
)
GAME_FACILITATOR = Rule(
    "game facilitator",
    "The facilitator of the game in the path; anyone else signed in gets 404.",
    frozenset({404}),
)
GAME_PLAYER = Rule(
    "game player",
    "Whoever joined a game with its code (a cookie names their team); anyone else is sent to join.",
)
LIVE_ROLEPLAY = Rule(
    "live role play",
    "The facilitator of the live role-play session in the path, or someone who joined it with "
    "its code (what each may do follows their role); anyone else gets 404, as if it did not "
    "exist.",
    frozenset({404}),
)
ROLEPLAY_PLAYER = Rule(
    "role play player",
    "The person who started the role-play attempt in the path; anyone else gets 404, as if it "
    "did not exist.",
    frozenset({404}),
)

LUNCH_ORGANISER = Rule(
    "lunch organiser",
    "Whoever proposed the lunch-and-learn session in the path, the presenting team's lead, or "
    "an admin; anyone else signed in gets 403.",
    frozenset({403}),
)
SHADOWING_VISIT = Rule(
    "shadowing visit",
    "The host of the shadowing slot in the path, or the host or guest of the booking in the "
    "path; anyone else gets 404, as if it did not exist.",
    frozenset({404}),
)

API = "/api/v1"

ROUTES: dict[tuple[str, str], Rule] = {
    # The service and its description.
    ("GET", f"{API}/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    # Requests (API).
    ("GET", f"{API}/requests"): SIGNED_IN,
    ("POST", f"{API}/requests"): RAISE,
    ("GET", f"{API}/requests/{{request_id}}"): REQUEST_READER,
    ("GET", f"{API}/requests/{{request_id}}/events"): REQUEST_READER,
    ("POST", f"{API}/requests/{{request_id}}/offers"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/offers/{{offer_id}}/accept"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/offers/{{offer_id}}/decline"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/offers/{{offer_id}}/withdraw"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/clarification"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/clarification/answer"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/wait"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/resume"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/updates"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/resolve"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/confirm"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/reopen"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/withdraw"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/merge"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/service"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/cases"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/promises"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/promises/{{promise_id}}/keep"): REQUEST_CHANGE,
    ("POST", f"{API}/requests/{{request_id}}/rating"): REQUEST_CHANGE,
    ("GET", f"{API}/requests/{{request_id}}/attachments"): REQUEST_READER,
    ("POST", f"{API}/requests/{{request_id}}/attachments"): REQUEST_CHANGE,
    ("GET", f"{API}/requests/{{request_id}}/attachments/{{attachment_id}}"): REQUEST_ATTACHMENT,
    ("GET", f"{API}/requests/{{request_id}}/notes"): REQUEST_WORKERS,
    ("POST", f"{API}/requests/{{request_id}}/notes"): REQUEST_WORKERS,
    # Signing in and one's own account.
    ("POST", f"{API}/session"): PUBLIC,
    ("DELETE", f"{API}/session"): YOURSELF,
    ("GET", f"{API}/me"): YOURSELF,
    ("GET", f"{API}/me/tokens"): YOURSELF,
    ("POST", f"{API}/me/tokens"): YOURSELF,
    ("DELETE", f"{API}/me/tokens/{{token_id}}"): YOURSELF,
    ("POST", f"{API}/feedback"): YOURSELF,
    ("GET", f"{API}/feedback"): YOURSELF,
    ("GET", f"{API}/inbox"): YOURSELF,
    ("POST", f"{API}/inbox/read"): YOURSELF,
    ("POST", f"{API}/inbox/unread"): YOURSELF,
    # The organisation.
    ("GET", f"{API}/departments"): DIRECTORY,
    ("POST", f"{API}/departments"): ADMIN,
    ("GET", f"{API}/teams"): DIRECTORY,
    ("POST", f"{API}/teams"): ADMIN,
    ("PATCH", f"{API}/teams/{{team_id}}"): ADMIN,
    ("POST", f"{API}/teams/{{team_id}}/members"): ADMIN,
    ("POST", f"{API}/teams/{{team_id}}/holidays"): ADMIN,
    ("DELETE", f"{API}/teams/{{team_id}}/holidays/{{day}}"): ADMIN,
    ("DELETE", f"{API}/teams/{{team_id}}/members/{{person_id}}"): ADMIN,
    ("POST", f"{API}/people/{{person_id}}/deactivate"): ADMIN,
    ("POST", f"{API}/people/{{person_id}}/reactivate"): ADMIN,
    ("POST", f"{API}/people/{{person_id}}/password-reset"): ADMIN,
    ("PATCH", f"{API}/services/{{service_id}}"): ADMIN,
    ("GET", f"{API}/audit"): ADMIN,
    ("GET", f"{API}/people"): DIRECTORY,
    ("POST", f"{API}/people"): ADMIN,
    ("GET", f"{API}/services"): DIRECTORY,
    ("POST", f"{API}/services"): ADMIN,
    ("GET", f"{API}/services/{{service_id}}/timescale"): DIRECTORY,
    # Customer cases.
    ("POST", f"{API}/cases"): SIGNED_IN,
    ("GET", f"{API}/cases"): CASE_READER,
    ("GET", f"{API}/cases/{{case_id}}"): CASE_READER,
    # Insight (API).
    ("GET", f"{API}/insight/scorecards"): GROUP_FIGURES,
    ("GET", f"{API}/insight/scorecards/{{level}}/{{subject_id}}"): GROUP_FIGURES,
    ("GET", f"{API}/insight/ripple/cases/{{case_id}}"): CASE_READER,
    ("GET", f"{API}/insight/ripple/teams/{{team_id}}"): READABLE_FIGURES,
    ("GET", f"{API}/insight/silo"): COMPANY_FIGURES,
    ("GET", f"{API}/insight/silo/network.graphml"): COMPANY_FIGURES,
    ("GET", f"{API}/insight/silo/network.csv"): COMPANY_FIGURES,
    ("GET", f"{API}/insight/health"): COMPANY_FIGURES,
    ("GET", f"{API}/insight/recognitions"): PERSON_FIGURES,
    ("POST", f"{API}/insight/recognitions/confirm"): PERSON_FIGURES,
    ("POST", f"{API}/insight/recognitions/dismiss"): PERSON_FIGURES,
    ("GET", f"{API}/insight/digest"): COMPANY_FIGURES,
    ("GET", f"{API}/insight/review/{{a}}/{{b}}"): GROUP_FIGURES,
    ("GET", f"{API}/routing/suggestions"): READABLE_FIGURES,
    # Search and saved views (API).
    ("GET", f"{API}/search"): SIGNED_IN,
    ("GET", f"{API}/views"): YOURSELF,
    ("POST", f"{API}/views"): YOURSELF,
    ("PATCH", f"{API}/views/{{view_id}}"): YOURSELF,
    ("DELETE", f"{API}/views/{{view_id}}"): YOURSELF,
    # Pages: signing in, home, account.
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    # The new-password link an admin made: its secret is the credential.
    ("GET", "/password-reset"): PUBLIC,
    ("POST", "/password-reset"): PUBLIC,
    # An action link from a message: its signature names the one person and the one action it
    # allows (the action's own rule still applies); the page shows, only the POST acts.
    ("GET", "/act/{token}"): PUBLIC,
    ("POST", "/act/{token}"): PUBLIC,
    # Webhooks: admins only, in the API and on the admin pages.
    ("GET", f"{API}/webhooks"): ADMIN,
    ("POST", f"{API}/webhooks"): ADMIN,
    ("PATCH", f"{API}/webhooks/{{subscription_id}}"): ADMIN,
    ("DELETE", f"{API}/webhooks/{{subscription_id}}"): ADMIN,
    ("POST", f"{API}/webhooks/{{subscription_id}}/rotate-secret"): ADMIN,
    ("GET", f"{API}/webhooks/{{subscription_id}}/deliveries"): ADMIN,
    ("POST", f"{API}/webhooks/{{subscription_id}}/deliveries/{{delivery_id}}/replay"): ADMIN,
    ("GET", "/admin/webhooks"): ADMIN,
    ("POST", "/admin/webhooks"): ADMIN,
    ("GET", "/admin/webhooks/{subscription_id}"): ADMIN,
    ("POST", "/admin/webhooks/{subscription_id}/kinds"): ADMIN,
    ("POST", "/admin/webhooks/{subscription_id}/rotate-secret"): ADMIN,
    ("POST", "/admin/webhooks/{subscription_id}/enabled"): ADMIN,
    ("POST", "/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/replay"): ADMIN,
    ("POST", "/admin/webhooks/{subscription_id}/delete"): ADMIN,
    # How mail reaches each service, and addresses that bounce marked fixed (mail.admin_web).
    ("GET", "/admin/mail"): ADMIN,
    ("POST", "/admin/mail/services/{service_id}"): ADMIN,
    ("POST", "/admin/mail/bouncing"): ADMIN,
    ("GET", f"{API}/admin/mail/services"): ADMIN,
    ("PUT", f"{API}/admin/mail/services/{{service_id}}"): ADMIN,
    ("GET", f"{API}/admin/mail/bouncing"): ADMIN,
    ("POST", f"{API}/admin/mail/bouncing/fixed"): ADMIN,
    ("POST", "/admin/mail/outbox"): ADMIN,
    ("GET", f"{API}/admin/mail/outbox"): ADMIN,
    ("POST", f"{API}/admin/mail/outbox/send-again"): ADMIN,
    # Chat channels: a person's own; a team's is its lead's (or an admin's).
    ("GET", "/admin/chat"): ADMIN,
    ("POST", "/admin/chat/{channel_id}/switch-on"): ADMIN,
    ("GET", f"{API}/admin/chat/channels"): ADMIN,
    ("POST", f"{API}/admin/chat/channels/{{channel_id}}/switch-on"): ADMIN,
    ("GET", "/account/chat"): YOURSELF,
    ("POST", "/account/chat"): YOURSELF,
    ("GET", "/teams/{team_id}/chat"): TEAM_LEAD,
    ("POST", "/teams/{team_id}/chat"): TEAM_LEAD,
    ("POST", "/sign-out"): YOURSELF,
    ("GET", "/account/tokens"): YOURSELF,
    ("POST", "/account/tokens"): YOURSELF,
    ("POST", "/account/tokens/{token_id}/revoke"): YOURSELF,
    ("GET", "/profile"): YOURSELF,
    ("POST", "/profile"): YOURSELF,
    ("GET", "/"): YOURSELF,
    ("GET", "/home/list"): YOURSELF,
    ("POST", "/inbox/read"): YOURSELF,
    ("GET", "/notifications"): YOURSELF,
    ("POST", "/notifications/read"): YOURSELF,
    ("POST", "/notifications/{notification_id}/read"): YOURSELF,
    ("POST", "/notifications/{notification_id}/unread"): YOURSELF,
    # Pages: requests.
    ("GET", "/requests/new"): RAISE,
    ("GET", "/requests/new/services"): RAISE,
    ("GET", "/requests/new/preview"): RAISE,
    ("GET", "/requests/new/suggestions"): READABLE_FIGURES,
    ("POST", "/requests/new"): RAISE,
    ("GET", "/requests"): SIGNED_IN,
    ("GET", "/requests/{request_id}"): REQUEST_READER,
    ("GET", "/requests/{request_id}/live"): REQUEST_READER,
    ("POST", "/requests/{request_id}/offers"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/offers/{offer_id}/accept"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/offers/{offer_id}/decline"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/offers/{offer_id}/withdraw"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/updates"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/promises"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/promises/{promise_id}/keep"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/clarification"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/clarification/answer"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/wait"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/resume"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/resolve"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/confirm"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/reopen"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/withdraw"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/merge"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/service"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/rating"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/cases"): REQUEST_CHANGE,
    ("POST", "/requests/{request_id}/attachments"): REQUEST_CHANGE,
    ("GET", "/requests/{request_id}/attachments/{attachment_id}"): REQUEST_ATTACHMENT,
    ("POST", "/requests/{request_id}/notes"): REQUEST_WORKERS,
    # Pages: teams and leads.
    ("GET", "/team"): SIGNED_IN,
    ("POST", "/team/{team_id}/offers/{request_id}/{offer_id}/accept"): TEAM_MEMBER,
    ("POST", "/team/{team_id}/offers/{request_id}/{offer_id}/decline"): TEAM_MEMBER,
    ("POST", "/team/{team_id}/accept"): TEAM_LEAD,
    ("GET", "/board"): LEAD,
    ("GET", "/board/list"): LEAD,
    # Pages: cases.
    ("GET", "/cases"): CASE_READER,
    ("GET", "/cases/{case_id}"): CASE_READER,
    # Pages: search and saved views.
    ("GET", "/search"): SIGNED_IN,
    ("GET", "/views"): YOURSELF,
    ("POST", "/views"): YOURSELF,
    ("POST", "/views/{view_id}/rename"): YOURSELF,
    ("POST", "/views/{view_id}/delete"): YOURSELF,
    # Pages: the organisation.
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/teams/{team_id}"): ADMIN,
    ("POST", "/admin/departments"): ADMIN,
    ("POST", "/admin/teams"): ADMIN,
    ("POST", "/admin/people"): ADMIN,
    ("POST", "/admin/services"): ADMIN,
    ("POST", "/admin/teams/{team_id}/roles"): ADMIN,
    ("POST", "/admin/teams/{team_id}/members"): ADMIN,
    ("POST", "/admin/teams/{team_id}/holidays"): ADMIN,
    ("POST", "/admin/teams/{team_id}/holidays/remove"): ADMIN,
    ("POST", "/admin/teams/{team_id}/members/remove"): ADMIN,
    ("POST", "/admin/teams/{team_id}/calendar"): ADMIN,
    ("POST", "/admin/services/{service_id}"): ADMIN,
    ("POST", "/admin/people/{person_id}/deactivate"): ADMIN,
    ("POST", "/admin/people/{person_id}/reactivate"): ADMIN,
    ("POST", "/admin/people/{person_id}/password-reset"): ADMIN,
    # Pages: practice games.
    ("GET", "/practice"): YOURSELF,
    ("GET", "/practice/new"): YOURSELF,
    ("POST", "/practice/new"): YOURSELF,
    # The simulation fitted to the desk: leads and admins try changes on it.
    ("GET", "/practice/what-if"): LEAD,
    ("GET", "/practice/{game_id}"): GAME_FACILITATOR,
    ("GET", "/practice/{game_id}/status"): GAME_FACILITATOR,
    ("POST", "/practice/{game_id}/rounds"): GAME_FACILITATOR,
    ("GET", "/practice/{game_id}/assumptions"): GAME_FACILITATOR,
    ("POST", "/practice/{game_id}/assumptions"): GAME_FACILITATOR,
    ("GET", "/practice/{game_id}/debrief"): GAME_FACILITATOR,
    ("GET", "/practice/{game_id}/report.html"): GAME_FACILITATOR,
    ("GET", "/practice/{game_id}/charts/{slug}.png"): GAME_FACILITATOR,
    # Role plays: anyone signed in plays their own (practice/roleplay).
    ("GET", f"{API}/roleplay/scenarios"): YOURSELF,
    ("GET", f"{API}/roleplay/attempts"): YOURSELF,
    ("POST", f"{API}/roleplay/attempts"): YOURSELF,
    ("POST", f"{API}/roleplay/score"): YOURSELF,
    ("GET", f"{API}/roleplay/attempts/{{attempt_id}}"): ROLEPLAY_PLAYER,
    ("POST", f"{API}/roleplay/attempts/{{attempt_id}}/turns"): ROLEPLAY_PLAYER,
    # Live role plays over the API: as on their pages (practice/roleplay/live_api).
    ("GET", f"{API}/roleplay/live"): YOURSELF,
    ("POST", f"{API}/roleplay/live"): YOURSELF,
    ("POST", f"{API}/roleplay/live/join"): YOURSELF,
    ("GET", f"{API}/roleplay/live/{{live_id}}"): LIVE_ROLEPLAY,
    ("POST", f"{API}/roleplay/live/{{live_id}}/turns"): LIVE_ROLEPLAY,
    ("POST", f"{API}/roleplay/live/{{live_id}}/marks"): LIVE_ROLEPLAY,
    ("POST", f"{API}/roleplay/live/{{live_id}}/close"): LIVE_ROLEPLAY,
    ("GET", f"{API}/roleplay/live/{{live_id}}/debrief"): LIVE_ROLEPLAY,
    # Their learning records (xAPI statements), downloaded for another store: admins only.
    ("GET", f"{API}/admin/learning-records"): ADMIN,
    # Notification choices and unsubscribing (mail): one's own; the unsubscribe link's
    # signature names the one person and the one kind it stops, so it needs no sign-in.
    ("GET", f"{API}/me/notification-choices"): YOURSELF,
    ("PUT", f"{API}/me/notification-choices"): YOURSELF,
    ("GET", "/profile/notifications"): YOURSELF,
    ("POST", "/profile/notifications"): YOURSELF,
    ("GET", "/mail/unsubscribe/{token}"): PUBLIC,
    ("POST", "/mail/unsubscribe/{token}"): PUBLIC,
    # Buddies across departments: one's own choice, buddy and "did you meet"; the rounds and
    # their meet rates for leads and admins.
    ("GET", "/buddies"): YOURSELF,
    ("POST", "/buddies"): YOURSELF,
    ("POST", "/buddies/rounds/{round_id}/met"): YOURSELF,
    ("GET", "/buddies/rounds"): LEAD,
    ("GET", "/practice/role-plays"): YOURSELF,
    ("POST", "/practice/role-plays/start"): YOURSELF,
    ("GET", "/practice/role-plays/attempts/{attempt_id}"): ROLEPLAY_PLAYER,
    ("POST", "/practice/role-plays/attempts/{attempt_id}/turns"): ROLEPLAY_PLAYER,
    ("GET", "/practice/role-plays/live"): YOURSELF,
    ("POST", "/practice/role-plays/live"): YOURSELF,
    ("POST", "/practice/role-plays/live/join"): YOURSELF,
    ("GET", "/practice/role-plays/live/{live_id}"): LIVE_ROLEPLAY,
    ("GET", "/practice/role-plays/live/{live_id}/board"): LIVE_ROLEPLAY,
    ("GET", "/practice/role-plays/live/{live_id}/live"): LIVE_ROLEPLAY,
    ("POST", "/practice/role-plays/live/{live_id}/turns"): LIVE_ROLEPLAY,
    ("POST", "/practice/role-plays/live/{live_id}/marks"): LIVE_ROLEPLAY,
    ("POST", "/practice/role-plays/live/{live_id}/close"): LIVE_ROLEPLAY,
    ("GET", "/practice/role-plays/live/{live_id}/debrief"): LIVE_ROLEPLAY,
    ("GET", "/play"): PUBLIC,
    ("POST", "/play"): PUBLIC,
    ("GET", "/play/team"): GAME_PLAYER,
    ("GET", "/play/team/budget"): GAME_PLAYER,
    ("GET", "/play/team/status"): GAME_PLAYER,
    ("POST", "/play/team/decisions"): GAME_PLAYER,
    # The training programme: learning leads (team leads and admins) run the catalog, cohorts,
    # attendance, completion, plans and observations and read the effect report; everyone
    # reads their own plan and record.
    ("GET", "/learning"): LEAD,
    ("POST", "/learning/cohorts"): LEAD,
    ("POST", "/learning/cohorts/{cohort_id}/sessions"): LEAD,
    ("POST", "/learning/cohorts/{cohort_id}/members"): LEAD,
    ("POST", "/learning/sessions/{session_id}/attendance"): LEAD,
    ("POST", "/learning/cohorts/{cohort_id}/completions"): LEAD,
    ("POST", "/learning/plans"): LEAD,
    ("POST", "/learning/evidence"): LEAD,
    ("GET", "/learning/effect"): LEAD,
    ("GET", "/learning/debrief"): LEAD,
    ("GET", "/learning/mine"): YOURSELF,
    ("GET", f"{API}/learning/modules"): LEAD,
    ("GET", f"{API}/learning/cohorts"): LEAD,
    ("GET", f"{API}/learning/effects"): LEAD,
    ("GET", f"{API}/learning/debriefs"): LEAD,
    ("GET", f"{API}/learning/mine"): YOURSELF,
    # Pages: job shadowing. Anyone signed in offers (in their own teams) and books (in other
    # departments) for themselves; reflections shown are those shared with their teams.
    ("GET", "/shadowing"): YOURSELF,
    ("POST", "/shadowing/slots"): YOURSELF,
    ("POST", "/shadowing/slots/{slot_id}/book"): YOURSELF,
    ("POST", "/shadowing/slots/{slot_id}/withdraw"): SHADOWING_VISIT,
    ("POST", "/shadowing/bookings/{booking_id}/cancel"): SHADOWING_VISIT,
    ("POST", "/shadowing/bookings/{booking_id}/reflection"): SHADOWING_VISIT,
    ("GET", "/shadowing/reflections"): YOURSELF,
    # Pages: what the buddy programme changed, for leads and admins.
    ("GET", "/buddies/effect"): LEAD,
    # Pages: lunch and learn. Anyone signed in proposes, takes a place and (having come) gives
    # feedback; attendance and notes are for whoever proposed it or the team's lead (403 else).
    ("GET", "/lunch-and-learn"): YOURSELF,
    ("POST", "/lunch-and-learn"): YOURSELF,
    ("POST", "/lunch-and-learn/{lunch_id}/sign-up"): YOURSELF,
    ("POST", "/lunch-and-learn/{lunch_id}/feedback"): YOURSELF,
    ("POST", "/lunch-and-learn/{lunch_id}/attendance"): LUNCH_ORGANISER,
    ("POST", "/lunch-and-learn/{lunch_id}/notes"): LUNCH_ORGANISER,
    # Pages: leaders' company-wide messages; everyone reads the archive, leads write.
    ("GET", "/messages"): YOURSELF,
    ("GET", "/messages/new"): LEAD,
    ("POST", "/messages"): LEAD,
    # Pages: Insight.
    ("GET", "/insight"): SIGNED_IN,
    ("GET", "/insight/scorecards"): GROUP_FIGURES,
    ("GET", "/insight/scorecards/{level}/{subject_id}"): GROUP_FIGURES,
    ("GET", "/insight/ripple"): READABLE_FIGURES,
    ("GET", "/insight/ripple/teams/{team_id}"): READABLE_FIGURES,
    ("GET", "/insight/ripple/cases/{case_id}"): CASE_READER,
    ("GET", "/insight/silo"): COMPANY_FIGURES,
    ("GET", "/insight/health"): COMPANY_FIGURES,
    ("GET", "/insight/recognitions"): PERSON_FIGURES,
    ("POST", "/insight/recognitions"): PERSON_FIGURES,
    ("GET", "/insight/digest"): COMPANY_FIGURES,
    ("GET", "/insight/review/{a}/{b}"): GROUP_FIGURES,
}


def rule_for(method: str, path: str) -> Rule:
    """The rule guarding a route (HEAD follows GET); KeyError for a route with none."""
    return ROUTES[("GET" if method == "HEAD" else method, path)]
