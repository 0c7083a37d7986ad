"""Message rows <-> Notification."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from shop.domain.notifications import Message, Notification, NotificationKind
from shop.persistence.database import as_utc
from shop.persistence.tables import messages


def _notification(row) -> Notification:
    message = Message(row.email, row.order_id, NotificationKind(row.kind), row.subject, row.body)
    return Notification(row.id, message, as_utc(row.created_at))


class NotificationStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def find(self, order_id: str, kind: NotificationKind) -> Notification | None:
        row = self.session.execute(
            select(messages).where(messages.c.order_id == order_id, messages.c.kind == str(kind))
        ).first()
        return _notification(row) if row else None

    def by_email(self, email: str) -> list[Notification]:
        rows = self.session.execute(
            select(messages)
            .where(messages.c.email == email)
            .order_by(messages.c.created_at, messages.c.id)
        )
        return [_notification(row) for row in rows]

    def add(self, notification: Notification) -> None:
        message = notification.message
        self.session.execute(
            insert(messages).values(
                id=notification.id,
                email=message.email,
                order_id=message.order_id,
                kind=str(message.kind),
                subject=message.subject,
                body=message.body,
                created_at=notification.created_at,
            )
        )
