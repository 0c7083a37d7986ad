"""Notifications blueprint: messages sent to a customer (admin)."""

from flask import Blueprint

from monolith.flask_web import admin_only, json_response, query
from monolith.wiring import wiring
from shop.schemas import EmailQuery, NotificationList, NotificationOut
from shop.usecases import notifications

bp = Blueprint("notifications", __name__, url_prefix="/api/notifications")


@bp.get("")
@admin_only
def list_notifications():
    email = query(EmailQuery).email
    with wiring().database.reading() as session:
        found = notifications.for_email(session, email)
    return json_response(NotificationList(items=[NotificationOut.of(n) for n in found]))
