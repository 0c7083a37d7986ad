"""Errors of the use cases that are not business rules: missing and duplicate things."""

from shop.domain.errors import DomainError


class NotFound(DomainError):
    code = "not-found"


class AlreadyExists(DomainError):
    code = "already-exists"
