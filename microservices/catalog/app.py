"""The catalog service: products. Inventory keeps stock for a new product before it is added."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status

from microservices.common.deps import (
    Admin,
    DatabaseDep,
    ReadSessionDep,
    WriteSessionDep,
    json_body,
    query,
)
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from microservices.common.upstream import Upstream, UpstreamError, unavailable
from shop.domain.catalog import Product
from shop.messages import ProductList
from shop.persistence.database import Database
from shop.schemas import ProductIn, ProductOut, ProductPage, ProductQuery, ProductUpdate
from shop.usecases import catalog, new_product

public = APIRouter(prefix="/api/products", tags=["catalog"])
internal = APIRouter(prefix="/internal/products", tags=["internal"])


async def get_inventory(request: Request) -> Upstream:
    return request.app.state.inventory


InventoryDep = Annotated[Upstream, Depends(get_inventory)]


@public.get("")
def list_products(
    params: Annotated[ProductQuery, query(ProductQuery)], session: ReadSessionDep
) -> ProductPage:
    items, total = catalog.list_products(session, params.q, params.page, params.per_page)
    return ProductPage(
        items=[ProductOut.of(p) for p in items],
        page=params.page,
        per_page=params.per_page,
        total=total,
    )


@public.get("/{sku}")
def get_product(sku: str, session: ReadSessionDep) -> ProductOut:
    return ProductOut.of(catalog.get_product(session, sku))


@public.post("", status_code=status.HTTP_201_CREATED, dependencies=[Admin])
def create_product(
    database: DatabaseDep,
    inventory: InventoryDep,
    body: Annotated[ProductIn, json_body(ProductIn)],
    response: Response,
) -> ProductOut:
    product = body.to_domain()
    new_product.add_product(
        product,
        keep_stock=partial(_keep_stock, inventory),
        record=partial(_record, database),
    )
    response.headers["Location"] = f"/api/products/{product.sku}"
    return ProductOut.of(product)


def _keep_stock(inventory: Upstream, sku: str) -> None:
    """Inventory starts keeping stock for the sku (idempotent): no transaction is open here."""
    try:
        inventory.call("POST", f"/internal/stock/{sku}/track", idempotent=True)
    except UpstreamError as error:
        raise unavailable(error) from None


def _record(database: Database, product: Product) -> None:
    with database.writing() as session:
        catalog.create_product(session, product)


@public.put("/{sku}", dependencies=[Admin])
def update_product(
    sku: str, body: Annotated[ProductUpdate, json_body(ProductUpdate)], session: WriteSessionDep
) -> ProductOut:
    product = body.to_domain(sku)
    catalog.update_product(session, product)
    return ProductOut.of(product)


@internal.get("")
def products_by_sku(request: Request, session: ReadSessionDep) -> ProductList:
    """The products among the given skus (?sku=A&sku=B): the orders service prices with it."""
    found = catalog.products_for(session, request.query_params.getlist("sku"))
    return ProductList(items=[ProductOut.of(p) for p in found.values()])


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    def start(app: FastAPI) -> None:
        app.state.inventory = Upstream(
            "inventory", settings.inventory_url, settings.connect_timeout, settings.call_timeout
        )

    return build_service(
        "catalog", settings, [public, internal], start, lambda app: app.state.inventory.close()
    )
