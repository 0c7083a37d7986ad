"""Errors the business rules raise; each stage maps them to problem+json."""


class DomainError(Exception):
    """Base class: a request the rules refuse. `code` names the problem type."""

    code = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidOrder(DomainError):
    """The order's lines break a rule (quantity, count, currency, ...)."""

    code = "invalid-order"


class InvalidProduct(DomainError):
    """A product's fields break a rule (sku format, price, currency)."""

    code = "invalid-product"


class UnknownSku(DomainError):
    """An order names a sku the catalog does not have."""

    code = "unknown-sku"

    def __init__(self, skus: list[str]) -> None:
        self.skus = sorted(skus)
        super().__init__("unknown sku: " + ", ".join(self.skus))


class InvalidQuantity(DomainError):
    """A stock movement with a quantity that is not a positive whole number."""

    code = "invalid-quantity"


class InsufficientStock(DomainError):
    """A stock movement that would take a level below zero."""

    code = "insufficient-stock"


class InvalidTransition(DomainError):
    """An order state change the state machine does not allow."""

    code = "invalid-transition"
