"""The monolith's gunicorn set-up for telemetry: the workers' shared metrics folder
(made fresh per master, set before prometheus_client is imported, removed by the master
only) and gunicorn's own log lines as JSON."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from gunicorn.config import Config
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families

from monolith import metrics_dir
from monolith.gunicorn_logging import SPAN_KEY, ShopLogger


def test_each_master_gets_a_fresh_empty_folder_named_in_the_environment(tmp_path) -> None:
    env: dict[str, str] = {}
    first = metrics_dir.prepare(env)
    second = metrics_dir.prepare(env)
    assert first != second and list(first.iterdir()) == []
    assert env[metrics_dir.MULTIPROCESS_ENV] == str(second)
    for folder in (first, second):
        assert metrics_dir.remove(folder, os.getpid())
        assert not folder.exists()


def test_the_folders_of_killed_masters_are_removed_by_the_next(tmp_path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    orphan = tmp_path / f"{metrics_dir.PREFIX}{gone}-abc"
    alive = tmp_path / f"{metrics_dir.PREFIX}{os.getpid()}-def"
    for folder in (orphan, alive):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"")
    fresh = metrics_dir.prepare({}, parent=tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted([alive, fresh])
    assert metrics_dir.remove(fresh, os.getpid())


def test_a_worker_leaving_keeps_the_folder(tmp_path) -> None:
    # A forked worker inherits the master's exit handler: it must not delete the folder.
    assert not metrics_dir.remove(tmp_path, os.getpid() + 1)
    assert tmp_path.exists()


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=True,
    )
    return done.stdout


def test_the_masters_start_sets_the_folder_before_prometheus_client_is_imported() -> None:
    """Importing the config changes nothing (a test may import it); gunicorn's on_starting
    hook, in the master before any fork, makes the folder; the master's exit removes it."""
    code = (
        "import monolith.gunicorn_conf as conf, os, sys\n"
        "assert 'PROMETHEUS_MULTIPROC_DIR' not in os.environ\n"
        "assert 'prometheus_client' not in sys.modules\n"
        "conf.on_starting(None)\n"
        "from prometheus_client import values\n"
        "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])\n"
        "print(os.path.isdir(os.environ['PROMETHEUS_MULTIPROC_DIR']))\n"
        "print(values.ValueClass.__qualname__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != metrics_dir.MULTIPROCESS_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    folder, existed, value_class = done.stdout.split()
    assert existed == "True"
    assert value_class.startswith("MultiProcessValue")  # files, not this process's memory
    assert not Path(folder).exists()  # removed when the interpreter (the master) exited


WORKER = """
from shop.telemetry import metrics
metrics.PAYMENTS.labels("captured").inc()
metrics.ORDERS_PENDING_OLDEST.set({age})
"""


def test_one_scrape_counts_every_worker(tmp_path) -> None:
    env = {metrics_dir.MULTIPROCESS_ENV: str(tmp_path)}
    _python(WORKER.format(age=5), **env)
    _python(WORKER.format(age=7), **env)
    page = _python("from shop.telemetry import metrics; print(metrics.page()[0].decode())", **env)
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if s.name in ("shop_payments_total", "shop_orders_pending_oldest_seconds")
    }
    # Counters add up over the workers; the gauge (multiprocess_mode="max") is the oldest.
    assert samples == {"shop_payments_total": 2.0, "shop_orders_pending_oldest_seconds": 7.0}


def _gunicorn_logger(stream: io.StringIO) -> ShopLogger:
    config = Config()
    config.set("accesslog", "-")
    config.set("errorlog", "-")
    logger = ShopLogger(config)
    for log in (logger.error_log, logger.access_log):
        for handler in log.handlers:
            handler.setStream(stream)  # type: ignore[attr-defined]
    return logger


def test_gunicorns_lines_are_json() -> None:
    stream = io.StringIO()
    logger = _gunicorn_logger(stream)
    logger.info("Listening at: %s", "http://127.0.0.1:8000")
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["logger"] == "gunicorn.error"
    assert (entry["service"], entry["message"]) == (
        "monolith",
        "Listening at: http://127.0.0.1:8000",
    )


class _Response:
    status = "200 OK"
    status_code = 200
    headers: list = []
    sent = 12
    response_length = 12


class _Request:
    headers: list = []


def test_an_access_line_carries_its_requests_trace_id() -> None:
    stream = io.StringIO()
    logger = _gunicorn_logger(stream)
    span = TracerProvider().get_tracer("test").start_span("GET /api/orders/{order_id}")
    span.end()  # gunicorn writes the line after the request's span ended
    path = "/api/orders/ord_x"
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path,
        "SERVER_PROTOCOL": "HTTP/1.1", SPAN_KEY: span,
    }  # fmt: skip
    logger.access(_Response(), _Request(), environ, timedelta(milliseconds=3))
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["logger"] == "gunicorn.access" and path in entry["message"]
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_the_root_handler_is_left_alone() -> None:
    before = list(logging.getLogger().handlers)
    _gunicorn_logger(io.StringIO())
    assert logging.getLogger().handlers == before
