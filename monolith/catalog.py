"""Catalog blueprint: products, public reads and admin writes."""

from flask import Blueprint

from monolith.http import admin_only, json_response, parse_body, parse_query
from monolith.wiring import wiring
from shop.schemas import ProductIn, ProductOut, ProductPage, ProductQuery, ProductUpdate
from shop.services import catalog, inventory

bp = Blueprint("catalog", __name__, url_prefix="/api/products")


@bp.get("")
def list_products():
    query = parse_query(ProductQuery)
    with wiring().database.reading() as session:
        items, total = catalog.list_products(session, query.q, query.page, query.per_page)
    page = ProductPage(
        items=[ProductOut.of(p) for p in items],
        page=query.page,
        per_page=query.per_page,
        total=total,
    )
    return json_response(page)


@bp.get("/<sku>")
def get_product(sku: str):
    with wiring().database.reading() as session:
        return json_response(ProductOut.of(catalog.get_product(session, sku)))


@bp.post("")
@admin_only
def create_product():
    product = parse_body(ProductIn).to_domain()
    with wiring().database.writing() as session:
        catalog.create_product(session, product)
        inventory.track(session, product.sku)
    return json_response(ProductOut.of(product), 201, {"Location": f"/api/products/{product.sku}"})


@bp.put("/<sku>")
@admin_only
def update_product(sku: str):
    product = parse_body(ProductUpdate).to_domain(sku)
    with wiring().database.writing() as session:
        catalog.update_product(session, product)
    return json_response(ProductOut.of(product))
