"""gunicorn settings for the monolith; each can be overridden by the environment."""

import os

from shop.settings import ShopSettings
from shop.startup_errors import check_settings

# Read the settings once here, in gunicorn's master: a bad value stops the start with one
# readable line, instead of a traceback from every worker.
check_settings(ShopSettings)

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
timeout = 60
graceful_timeout = 10
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# One shared control socket path would clash when several stages run side by side.
control_socket_disable = True
