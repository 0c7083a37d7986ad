"""Catalog blueprint: products, public reads and admin writes."""

from functools import partial

from flask import Blueprint

from monolith.flask_web import admin_only, body, json_response, query
from monolith.wiring import wiring
from shop.schemas import ProductIn, ProductOut, ProductPage, ProductQuery, ProductUpdate
from shop.usecases import catalog, inventory, new_product

bp = Blueprint("catalog", __name__, url_prefix="/api/products")


@bp.get("")
def list_products():
    params = query(ProductQuery)
    with wiring().database.reading() as session:
        items, total = catalog.list_products(session, params.q, params.page, params.per_page)
    page = ProductPage(
        items=[ProductOut.of(p) for p in items],
        page=params.page,
        per_page=params.per_page,
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
    product = body(ProductIn).to_domain()
    with wiring().database.writing() as session:  # one transaction holds both steps
        new_product.add_product(
            product,
            keep_stock=partial(inventory.track, session),
            record=partial(catalog.create_product, session),
        )
    return json_response(ProductOut.of(product), 201, {"Location": f"/api/products/{product.sku}"})


@bp.put("/<sku>")
@admin_only
def update_product(sku: str):
    product = body(ProductUpdate).to_domain(sku)
    with wiring().database.writing() as session:
        catalog.update_product(session, product)
    return json_response(ProductOut.of(product))
