"""/healthz (the process is alive) and /readyz (its database answers)."""

from flask import Blueprint

from monolith.flask_web import json_response
from monolith.wiring import wiring
from shop.schemas import Health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return json_response(Health(status="ok"))


@bp.get("/readyz")
def readyz():
    try:
        wiring().database.ping()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return json_response(Health(status="unavailable", checks={"database": str(error)}), 503)
    return json_response(Health(status="ok", checks={"database": "ok"}))
