"""The notifications service: messages to customers, recorded once per order and outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI

from microservices.common.deps import Admin, DatabaseDep, ReadSessionDep, json_body, query
from microservices.common.messages import NotifyIn
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from shop.schemas import EmailQuery, NotificationList, NotificationOut
from shop.telemetry import metrics
from shop.telemetry.tracing import mark_order
from shop.usecases import notifications

public = APIRouter(prefix="/api/notifications", tags=["notifications"])
internal = APIRouter(prefix="/internal/notifications", tags=["internal"])


@public.get("", dependencies=[Admin])
def list_notifications(
    params: Annotated[EmailQuery, query(EmailQuery)], session: ReadSessionDep
) -> NotificationList:
    found = notifications.for_email(session, params.email)
    return NotificationList(items=[NotificationOut.of(n) for n in found])


@internal.post("")
def notify(
    body: Annotated[NotifyIn, json_body(NotifyIn)], database: DatabaseDep
) -> NotificationOut:
    """Record the customer's message once per order and outcome; counted once, committed."""
    order = body.to_domain()
    mark_order(order.id)
    with database.writing() as session:
        notification, recorded = notifications.notify_once(session, order)
    if recorded:
        metrics.NOTIFICATIONS.inc()
    return NotificationOut.of(notification)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service("notifications", settings or ServiceSettings(), [public, internal])
