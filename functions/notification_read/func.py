"""notification-read: the messages sent to a customer (admin)."""

from __future__ import annotations

from starlette.requests import Request

from functions.runtime.http_function import HttpFunction
from shop.schemas import EmailQuery, NotificationList, NotificationOut
from shop.usecases import notifications
from shop.web.asgi import json_response


class NotificationRead(HttpFunction):
    name = "notification-read"
    contexts = ("notifications",)
    routes = [("GET", r"/api/notifications", "list_notifications")]

    async def list_notifications(self, request: Request):
        self.admin(request)
        email = self.query(request, EmailQuery).email
        found = await self.run(self._for_email, email)
        return json_response(NotificationList(items=[NotificationOut.of(n) for n in found]))

    def _for_email(self, email: str):
        with self.databases["notifications"].reading() as session:
            return notifications.for_email(session, email)


def new() -> NotificationRead:
    return NotificationRead()
