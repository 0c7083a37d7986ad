"""Request and response bodies of the public API, shared by every stage.

Limits come from the domain, so the schema (and the OpenAPI document built
from it) and the rules cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from shop.domain.catalog import (
    DESCRIPTION_PATTERN,
    LINE_PATTERN,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PRICE_CENTS,
    NAME_PATTERN,
    SKU_PATTERN,
    Product,
)
from shop.domain.inventory import MAX_RESTOCK, StockLevel
from shop.domain.money import CURRENCIES
from shop.domain.notifications import NOTIFICATION_ID_PATTERN, Notification, NotificationKind
from shop.domain.orders import (
    EMAIL_PATTERN,
    MAX_LINES,
    MAX_ORDER_TOTAL_CENTS,
    MAX_QUANTITY,
    ORDER_ID_PATTERN,
    Order,
    OrderLine,
    OrderStatus,
    RejectReason,
)
from shop.domain.payments import PAYMENT_ID_PATTERN, TOKEN_PATTERN, Charge, ChargeStatus
from shop.health import Health  # noqa: F401 - one of the API's bodies, kept apart


def _whole_number(value: object) -> object:
    """90.0 is the JSON number 90 (RFC 8259, and JSON Schema's "integer"); 90.5, "90",
    true are still refused by StrictInt."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole(low: int, high: int) -> object:
    """A whole JSON number from low to high (the limits stay in the JSON schema)."""
    return Annotated[StrictInt, Field(ge=low, le=high), BeforeValidator(_whole_number)]


Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["TF-0001"])]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254, examples=["ada@example.com"])]
Currency = Literal[tuple(sorted(CURRENCIES))]  # type: ignore[valid-type]
Cents = whole(1, MAX_PRICE_CENTS)
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH, pattern=DESCRIPTION_PATTERN)]
# Query values: one line without control characters; an identifier has no space at either end.
SearchText = Annotated[str, Field(pattern=LINE_PATTERN)]
Plain = Annotated[str, Field(pattern=NAME_PATTERN)]
OrderId = Annotated[str, Field(pattern=ORDER_ID_PATTERN, examples=["ord_AbCdEfGhIjKlMnOpQrStUv"])]
Count = Annotated[int, Field(ge=0)]
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
MAX_QUERY_LENGTH = 100
# Idempotency-Key on POST /api/orders: visible ASCII, no spaces (as the IETF draft's examples).
# The one definition: the document is generated from it, and every stage checks the
# header with it (shop/usecases/idempotency.parse_key).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7E]+$"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IdempotencyKey = Annotated[
    str,
    Field(min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH, pattern=IDEMPOTENCY_KEY_PATTERN),
]


# Nothing is trimmed: a value with spaces or control characters at either end is refused
# by its pattern (422) on every stage, so what is stored is what was sent.
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(_In):
    sku: Sku
    name: Name
    description: Description = ""
    price_cents: Cents
    currency: Currency = "EUR"

    def to_domain(self) -> Product:
        return Product(self.sku, self.name, self.description, self.price_cents, self.currency)


class ProductUpdate(_In):
    name: Name
    description: Description = ""
    price_cents: Cents
    currency: Currency = "EUR"

    def to_domain(self, sku: str) -> Product:
        return Product(sku, self.name, self.description, self.price_cents, self.currency)


class RestockIn(_In):
    quantity: whole(1, MAX_RESTOCK)  # type: ignore[valid-type]


class OrderLineIn(_In):
    sku: Sku
    quantity: whole(1, MAX_QUANTITY)  # type: ignore[valid-type]


class OrderIn(_In):
    email: Email
    payment_token: Annotated[str, Field(pattern=TOKEN_PATTERN, examples=["tok_visa"])]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]

    def requested(self) -> list[tuple[str, int]]:
        return [(line.sku, line.quantity) for line in self.lines]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProductQuery(_Query):
    q: Annotated[
        SearchText,
        Field(
            max_length=MAX_QUERY_LENGTH,
            description="words that must all occur in sku, name or description",
        ),
    ] = ""
    page: Annotated[int, Field(ge=1, le=MAX_PAGE, description="the page, from 1")] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE, description="products per page")] = 20


class EmailQuery(_Query):
    email: Annotated[Plain, Field(min_length=3, max_length=254, description="the customer's email")]


class OrderIdQuery(_Query):
    order_id: Annotated[Plain, Field(min_length=1, max_length=64, description="the order's id")]


class ProductOut(BaseModel):
    sku: Sku
    name: Name
    description: Description
    price_cents: Cents
    currency: Currency

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(**vars(product))


class ProductPage(BaseModel):
    items: Annotated[list[ProductOut], Field(max_length=MAX_PER_PAGE)]
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)]
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)]
    total: Count


class StockOut(BaseModel):
    sku: Sku
    available: Count
    reserved: Count
    sold: Count

    @classmethod
    def of(cls, level: StockLevel) -> StockOut:
        return cls(**vars(level))


class OrderLineOut(BaseModel):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    unit_price_cents: Cents
    line_total_cents: Annotated[int, Field(ge=1, le=MAX_QUANTITY * MAX_PRICE_CENTS)]


class OrderOut(BaseModel):
    id: OrderId
    email: Email
    status: Literal[tuple(s.value for s in OrderStatus)]  # type: ignore[valid-type]
    reason: Literal[tuple(r.value for r in RejectReason)] | None  # type: ignore[valid-type]
    currency: Currency
    total_cents: Annotated[int, Field(ge=1, le=MAX_ORDER_TOTAL_CENTS)]
    lines: Annotated[list[OrderLineOut], Field(min_length=1, max_length=MAX_LINES)]
    created_at: datetime
    updated_at: datetime

    def to_domain(self) -> Order:
        """The order back as the rules know it (the payment token is never sent out)."""
        return Order(
            id=self.id,
            email=self.email,
            payment_token="",
            currency=self.currency,
            lines=[OrderLine(x.sku, x.quantity, x.unit_price_cents) for x in self.lines],
            status=OrderStatus(self.status),
            reason=self.reason,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            email=order.email,
            status=order.status.value,
            reason=order.reason,
            currency=order.currency,
            total_cents=order.total_cents,
            lines=[
                OrderLineOut(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price_cents=line.unit_price_cents,
                    line_total_cents=line.line_total_cents,
                )
                for line in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OrderList(BaseModel):
    items: list[OrderOut]


class PaymentOut(BaseModel):
    id: Annotated[str, Field(pattern=PAYMENT_ID_PATTERN)]
    order_id: OrderId
    amount_cents: Annotated[int, Field(ge=1, le=MAX_ORDER_TOTAL_CENTS)]
    currency: Currency
    status: Literal[tuple(s.value for s in ChargeStatus)]  # type: ignore[valid-type]
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, charge: Charge) -> PaymentOut:
        return cls(**(vars(charge) | {"status": charge.status.value}))


class PaymentList(BaseModel):
    items: list[PaymentOut]


class NotificationOut(BaseModel):
    id: Annotated[str, Field(pattern=NOTIFICATION_ID_PATTERN)]
    email: Email
    order_id: OrderId
    kind: Literal[tuple(k.value for k in NotificationKind)]  # type: ignore[valid-type]
    subject: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        message = notification.message
        return cls(
            id=notification.id,
            email=message.email,
            order_id=message.order_id,
            kind=message.kind.value,
            subject=message.subject,
            body=message.body,
            created_at=notification.created_at,
        )


class NotificationList(BaseModel):
    items: list[NotificationOut]


class ProblemOut(BaseModel):
    """RFC 9457 problem details (extensions such as `errors` and `skus` may follow)."""

    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    instance: str | None = None
