"""The methods a path takes, as every stage names them in the Allow header of a 405."""

from __future__ import annotations

from collections.abc import Iterable


def allow_header(methods: Iterable[str]) -> str:
    """GET brings HEAD (a HEAD is a GET without the body); OPTIONS is taken by no path:
    every stage answers it with this same 405 (README "Edges")."""
    names = {method.upper() for method in methods} - {"OPTIONS"}
    if "GET" in names:
        names.add("HEAD")
    return ", ".join(sorted(names))
