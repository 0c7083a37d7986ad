"""gunicorn settings for the monolith; each can be overridden by the environment."""

import os

from shop.settings import ShopSettings
from shop.startup_errors import check_settings
from shop.web.request_head import HEADER_FIELD_LIMIT, MAX_HEADER_FIELDS, REQUEST_LINE_LIMIT

# Read the settings once here, in gunicorn's master: a bad value stops the start with one
# readable line, instead of a traceback from every worker.
check_settings(ShopSettings)

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, answering a refused request head with problem+json (see the module).
worker_class = "monolith.gunicorn_worker.ProblemWorker"
threads = int(os.environ.get("THREADS", "4"))
timeout = 60
graceful_timeout = 10
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# The request head limits every stage enforces (shop/web/request_head.py, README "Edges").
limit_request_line = REQUEST_LINE_LIMIT
limit_request_field_size = HEADER_FIELD_LIMIT
limit_request_fields = MAX_HEADER_FIELDS
# One shared control socket path would clash when several stages run side by side.
control_socket_disable = True
