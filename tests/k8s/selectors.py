"""Kubernetes label selectors, evaluated as the API server does."""

from __future__ import annotations


def matches_expression(expression: dict, labels: dict[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    values = expression.get("values", [])
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"unknown selector operator {operator}")


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """matchLabels and matchExpressions against a set of labels ({} selects everything)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(matches_expression(e, labels) for e in selector.get("matchExpressions", []))
