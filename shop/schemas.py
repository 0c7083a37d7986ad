"""Request and response bodies of the public API, shared by every stage.

Limits come from the domain, so the schema (and the OpenAPI document built
from it) and the rules cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

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
from shop.domain.notifications import Notification
from shop.domain.orders import (
    EMAIL_PATTERN,
    MAX_LINES,
    MAX_QUANTITY,
    Order,
    OrderLine,
    OrderStatus,
)
from shop.domain.payments import TOKEN_PATTERN, Charge
from shop.instance import this_instance

Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["TF-0001"])]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254, examples=["ada@example.com"])]
Currency = Literal[tuple(sorted(CURRENCIES))]  # type: ignore[valid-type]
Cents = Annotated[StrictInt, Field(ge=1, le=MAX_PRICE_CENTS)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH, pattern=DESCRIPTION_PATTERN)]
# Query values: one line without control characters; an identifier has no space at either end.
SearchText = Annotated[str, Field(pattern=LINE_PATTERN)]
Plain = Annotated[str, Field(pattern=NAME_PATTERN)]
MAX_PER_PAGE = 100
MAX_QUERY_LENGTH = 100


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
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_RESTOCK)]


class OrderLineIn(_In):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class OrderIn(_In):
    email: Email
    payment_token: Annotated[str, Field(pattern=TOKEN_PATTERN, examples=["tok_visa"])]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]

    def requested(self) -> list[tuple[str, int]]:
        return [(line.sku, line.quantity) for line in self.lines]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProductQuery(_Query):
    q: Annotated[SearchText, Field(max_length=MAX_QUERY_LENGTH)] = ""  # words, spaces between
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 20


class EmailQuery(_Query):
    email: Annotated[Plain, Field(min_length=3, max_length=254)]


class OrderIdQuery(_Query):
    order_id: Annotated[Plain, Field(min_length=1, max_length=64)]


class ProductOut(BaseModel):
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(**vars(product))


class ProductPage(BaseModel):
    items: list[ProductOut]
    page: int
    per_page: int
    total: int


class StockOut(BaseModel):
    sku: str
    available: int
    reserved: int
    sold: int

    @classmethod
    def of(cls, level: StockLevel) -> StockOut:
        return cls(**vars(level))


class OrderLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class OrderOut(BaseModel):
    id: str
    email: str
    status: Literal["pending", "confirmed", "rejected"]
    reason: str | None
    currency: str
    total_cents: int
    lines: list[OrderLineOut]
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
    id: str
    order_id: str
    amount_cents: int
    currency: str
    status: Literal["pending", "captured", "declined", "failed"]
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, charge: Charge) -> PaymentOut:
        return cls(**(vars(charge) | {"status": charge.status.value}))


class PaymentList(BaseModel):
    items: list[PaymentOut]


class NotificationOut(BaseModel):
    id: str
    email: str
    order_id: str
    kind: Literal["order_confirmed", "order_rejected"]
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


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}
    instance: str | None = Field(
        default_factory=this_instance,
        description="The identity the launcher gave this process (THREEFOLD_INSTANCE), if any",
    )


class ProblemOut(BaseModel):
    """RFC 9457 problem details (extensions such as `errors` and `skus` may follow)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
