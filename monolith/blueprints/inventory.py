"""Inventory blueprint: stock levels and restocking."""

from flask import Blueprint

from monolith.flask_web import admin_only, body, json_response
from monolith.wiring import wiring
from shop.schemas import RestockIn, StockOut
from shop.usecases import inventory

bp = Blueprint("inventory", __name__, url_prefix="/api/stock")


@bp.get("/<sku>")
def get_stock(sku: str):
    with wiring().database.reading() as session:
        return json_response(StockOut.of(inventory.get_stock(session, sku)))


@bp.post("/<sku>")
@admin_only
def restock(sku: str):
    restock_in = body(RestockIn)
    with wiring().database.writing() as session:
        level = inventory.restock(session, sku, restock_in.quantity)
    return json_response(StockOut.of(level))
