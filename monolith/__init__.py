"""Stage 1: the monolith. One Flask app, one database, in-process calls."""

from monolith.app import create_app

__all__ = ["create_app"]
