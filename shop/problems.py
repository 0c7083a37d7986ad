"""RFC 9457 problem details: the error types every stage answers with.

The `type` URIs are stable: clients and the contract suite key on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shop.domain.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://threefold.example/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.slug


_TYPES = [
    ProblemType("malformed-request", "The request body is not valid JSON", 400),
    ProblemType("unauthorized", "Authentication required", 401),
    ProblemType("forbidden", "Not allowed", 403),
    ProblemType("not-found", "Not found", 404),
    ProblemType("method-not-allowed", "Method not allowed", 405),
    ProblemType("already-exists", "Already exists", 409),
    ProblemType("invalid-transition", "Not allowed in the order's state", 409),
    ProblemType("payload-too-large", "Request body too large", 413),
    ProblemType("uri-too-long", "The request line is too long", 414),
    ProblemType("unsupported-media-type", "Send application/json", 415),
    ProblemType("validation-error", "The request is not valid", 422),
    ProblemType("invalid-order", "The order is not valid", 422),
    ProblemType("invalid-product", "The product is not valid", 422),
    ProblemType("invalid-quantity", "The quantity is not valid", 422),
    ProblemType("insufficient-stock", "Not enough stock", 409),
    ProblemType("unknown-sku", "Unknown sku", 422),
    ProblemType("idempotency-key-reused", "The Idempotency-Key was used for another request", 422),
    ProblemType("headers-too-large", "The request headers are too large", 431),
    ProblemType("internal-error", "Internal server error", 500),
    ProblemType("bad-gateway", "An upstream service failed", 502),
    ProblemType("service-unavailable", "A service is unavailable", 503),
    ProblemType("gateway-timeout", "An upstream service timed out", 504),
]
PROBLEM_TYPES: dict[str, ProblemType] = {t.slug: t for t in _TYPES}


class Problem(Exception):
    """An error answer: raise it anywhere in a request, the stage renders it."""

    FIELDS = frozenset({"type", "title", "status", "detail", "instance"})

    def __init__(self, slug: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.type = PROBLEM_TYPES[slug]
        self.detail = detail
        self.extensions = extensions

    @property
    def status(self) -> int:
        return self.type.status

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type.uri,
            "title": self.type.title,
            "status": self.type.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        return body | self.extensions

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The headers this answer needs in every stage, plus `extra` (Allow, say)."""
        headers = dict(extra or {})
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if self.status == 413:
            headers["Connection"] = "close"  # the unread rest of the body spoils the connection
        return headers

    @classmethod
    def from_domain(cls, error: DomainError) -> Problem:
        extensions = {"skus": error.skus} if hasattr(error, "skus") else {}
        return cls(error.code, error.detail, **extensions)


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    """422 with one entry per field: where (`loc`) and what is wrong (`msg`)."""
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return Problem(
        "validation-error",
        f"{where}: {first['msg']}",
        errors=[{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in errors],
    )
