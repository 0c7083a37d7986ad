"""Orders blueprint: place an order, read one, list a customer's (admin)."""

from functools import partial

from flask import Blueprint, request

from monolith.flask_web import admin_only, body, json_response, query
from monolith.order_saga import place_order
from monolith.wiring import wiring
from shop.schemas import EmailQuery, OrderIn, OrderList, OrderOut
from shop.telemetry.tracing import mark_order
from shop.usecases import idempotency, orders

bp = Blueprint("orders", __name__, url_prefix="/api/orders")


@bp.post("")
def create_order():
    key = idempotency.parse_key(request.headers.getlist(idempotency.HEADER))
    order_in, shop = body(OrderIn), wiring()
    request_key = idempotency.for_request(key, order_in, shop.settings.idempotency_key_ttl)
    order = idempotency.place_once(
        shop.database, request_key, partial(place_order, shop, order_in, request_key)
    )
    mark_order(order.id)  # the request's server span: an answer that names an order
    return json_response(OrderOut.of(order), 202, {"Location": f"/api/orders/{order.id}"})


@bp.get("/<order_id>")
def get_order(order_id: str):
    with wiring().database.reading() as session:
        return json_response(OrderOut.of(orders.get(session, order_id)))


@bp.get("")
@admin_only
def list_orders():
    email = query(EmailQuery).email
    with wiring().database.reading() as session:
        found = orders.by_email(session, email)
    return json_response(OrderList(items=[OrderOut.of(o) for o in found]))
