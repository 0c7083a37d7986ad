"""The notifications service: messages to customers, recorded once per order and outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Request

from microservices.common.http import Admin, json_body, json_response, query
from microservices.common.messages import NotifyIn
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from shop.schemas import EmailQuery, NotificationList, NotificationOut
from shop.usecases import notifications

public = APIRouter(prefix="/api/notifications", tags=["notifications"])
internal = APIRouter(prefix="/internal/notifications", tags=["internal"])


@public.get("", dependencies=[Admin])
def list_notifications(request: Request, params: Annotated[EmailQuery, query(EmailQuery)]):
    with request.app.state.database.reading() as session:
        found = notifications.for_email(session, params.email)
    return json_response(NotificationList(items=[NotificationOut.of(n) for n in found]))


@internal.post("")
def notify(request: Request, body: Annotated[NotifyIn, json_body(NotifyIn)]):
    with request.app.state.database.writing() as session:
        notification = notifications.notify(session, body.to_domain())
    return json_response(NotificationOut.of(notification))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service("notifications", settings or ServiceSettings(), [public, internal])
