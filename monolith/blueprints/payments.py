"""Payments blueprint: an order's charges (admin)."""

from flask import Blueprint

from monolith.flask_web import admin_only, json_response, query
from monolith.wiring import wiring
from shop.schemas import OrderIdQuery, PaymentList, PaymentOut
from shop.usecases import payments

bp = Blueprint("payments", __name__, url_prefix="/api/payments")


@bp.get("")
@admin_only
def list_payments():
    order_id = query(OrderIdQuery).order_id
    with wiring().database.reading() as session:
        found = payments.charges_for_order(session, order_id)
    return json_response(PaymentList(items=[PaymentOut.of(c) for c in found]))
