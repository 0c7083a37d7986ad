"""gunicorn settings for the monolith; each can be overridden by the environment."""

import os
from collections.abc import Mapping

from monolith import metrics_dir
from shop.persistence.database import PoolSettings, database_url
from shop.settings import ShopSettings
from shop.startup_errors import check_settings, readable_errors
from shop.web.request_head import HEADER_FIELD_LIMIT, MAX_HEADER_FIELDS, REQUEST_LINE_LIMIT

LOCAL_BIND = "127.0.0.1:8000"
# In a container: every interface, on the port every container of the shop listens on.
PRODUCTION_BIND = "0.0.0.0:8080"


def bind_address(env: Mapping[str, str], production: bool) -> str:
    """BIND if set; else this machine only, or in production every interface on 8080."""
    return env.get("BIND") or (PRODUCTION_BIND if production else LOCAL_BIND)


# Read the settings once here, in gunicorn's master: a bad value (or, in production, no
# DATABASE_URL) stops the start with one readable line, instead of a traceback per worker.
shop_settings = check_settings(ShopSettings)
check_settings(PoolSettings)
with readable_errors():
    database_url(None, default="monolith", production=shop_settings.production)

bind = bind_address(os.environ, shop_settings.production)
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, answering a refused request head with problem+json (see the module).
worker_class = "monolith.gunicorn_worker.ProblemWorker"
threads = int(os.environ.get("THREADS", "4"))
timeout = 60
graceful_timeout = 10
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn's own lines (master and workers) as JSON, like every other line of the shop.
logger_class = "monolith.gunicorn_logging.ShopLogger"
# The request head limits every stage enforces (shop/web/request_head.py, README "Edges").
limit_request_line = REQUEST_LINE_LIMIT
limit_request_field_size = HEADER_FIELD_LIMIT
limit_request_fields = MAX_HEADER_FIELDS
# One shared control socket path would clash when several stages run side by side.
control_socket_disable = True


def on_starting(server) -> None:
    """In the master, before any worker is forked (and imports prometheus_client): the
    workers' shared metrics folder. A hook, not import time: importing this module (a
    test reading bind_address) must not change the importer's environment."""
    metrics_dir.prepare()


def child_exit(server, worker) -> None:
    """A worker exited: its live-only gauges leave the shared metrics (metrics_dir.py)."""
    metrics_dir.mark_dead(worker.pid)
