"""Admin pages for webhooks: the subscriptions, one subscription's secret and delivery log, and
the buttons to send a delivery again, change the secret, or switch it on or off. Each form calls
the same service as the API, so a page can do exactly what the API allows."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from followthrough.errors import InvalidInput
from followthrough.fields import Id, form_id
from followthrough.org.models import Team
from followthrough.web.deps import UnitOfWorkRoute, admin_actor
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage
from followthrough.webhooks import service
from followthrough.webhooks.delivery import message_id

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/admin/webhooks", include_in_schema=False)

LOG_SHOWN = 50


def _teams(page: Page) -> dict[int, str]:
    rows = page.session.execute(select(Team.id, Team.name).order_by(Team.name))
    return {row.id: row.name for row in rows}


def _list(page: Page, errors: FormErrors | None = None) -> Response:
    admin_actor(page.actor)
    found = service.subscriptions(page.session, page.actor)
    return page.render(
        "integrations/webhooks.html",
        status=200 if errors is None else errors.status,
        subscriptions=[(s, service.kinds_of(page.session, s.id)) for s in found],
        teams=_teams(page),
        kinds=service.EVENT_KINDS,
        errors=errors,
    )


def _detail(page: Page, subscription_id: int, errors: FormErrors | None = None) -> Response:
    subscription = service.get_subscription(page.session, page.actor, subscription_id)
    log, total = service.delivery_log(page.session, page.actor, subscription_id, limit=LOG_SHOWN)
    return page.render(
        "integrations/webhook.html",
        status=200 if errors is None else errors.status,
        subscription=subscription,
        chosen=service.kinds_of(page.session, subscription_id),
        team_name=_teams(page).get(subscription.team_id or 0, ""),
        log=log,
        total=total,
        message_id=message_id,
        kinds=service.EVENT_KINDS,
        errors=errors,
    )


@router.get("")
def webhooks_page(page: ReadPage) -> Response:
    return _list(page)


@router.post("")
def add_webhook(page: ChangePage) -> Response:
    admin_actor(page.actor)
    made: list[int] = []
    team = page.form.get("team_id")

    def create() -> None:
        team_id = form_id(team)
        if team.strip() and team_id is None:
            raise InvalidInput("choose a team from the list, or every team", field="team_id")
        made.append(
            service.create_subscription(
                page.session,
                page.actor,
                url=page.form.get("url"),
                kinds=page.form.getlist("kinds"),
                team_id=team_id,
                description=page.form.get("description"),
                now=page.now,
            ).id
        )

    errors = page.attempt("webhook", create)
    if errors:
        return _list(page, errors)
    return page.redirect(
        f"/admin/webhooks/{made[0]}", "Webhook added. Give its secret to the receiver."
    )


@router.get("/{subscription_id}")
def webhook_page(subscription_id: Id, page: ReadPage) -> Response:
    return _detail(page, subscription_id)


def _change(page: Page, subscription_id: int, form: str, action: object, flash: str) -> Response:
    admin_actor(page.actor)
    assert callable(action)
    errors = page.attempt(form, action)
    if errors:
        return _detail(page, subscription_id, errors)
    return page.redirect(f"/admin/webhooks/{subscription_id}", flash)


@router.post("/{subscription_id}/kinds")
def change_kinds(subscription_id: Id, page: ChangePage) -> Response:
    return _change(
        page,
        subscription_id,
        "kinds",
        lambda: service.change_subscription(
            page.session,
            page.actor,
            subscription_id,
            url=page.form.get("url"),
            kinds=page.form.getlist("kinds"),
            description=page.form.get("description"),
        ),
        "Saved.",
    )


@router.post("/{subscription_id}/rotate-secret")
def rotate(subscription_id: Id, page: ChangePage) -> Response:
    return _change(
        page,
        subscription_id,
        "secret",
        lambda: service.rotate_secret(page.session, page.actor, subscription_id, page.now),
        "New secret made. The old one keeps signing for 24 hours: update the receiver before then.",
    )


@router.post("/{subscription_id}/enabled")
def switch(subscription_id: Id, page: ChangePage) -> Response:
    on = page.form.get("enabled") == "true"
    return _change(
        page,
        subscription_id,
        "enabled",
        lambda: service.set_enabled(page.session, page.actor, subscription_id, on),
        "Switched on." if on else "Switched off: nothing is sent until it is switched on again.",
    )


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay")
def replay(subscription_id: Id, delivery_id: Id, page: ChangePage) -> Response:
    return _change(
        page,
        subscription_id,
        "replay",
        lambda: service.replay(page.session, page.actor, subscription_id, delivery_id, page.now),
        "It will be sent again within a minute, with the same message id.",
    )


@router.post("/{subscription_id}/delete")
def delete(subscription_id: Id, page: ChangePage) -> Response:
    admin_actor(page.actor)
    errors = page.attempt(
        "delete", lambda: service.delete_subscription(page.session, page.actor, subscription_id)
    )
    if errors:
        return _detail(page, subscription_id, errors)
    return page.redirect("/admin/webhooks", "Webhook removed, with its log.")
