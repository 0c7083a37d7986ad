"""The chaos run's helpers: its PostgreSQL databases, and errors read from a stage log."""

from __future__ import annotations

import json
import secrets

import psycopg
import pytest

from loadtests.chaos.stage_log import error_notes, errors, tracebacks
from stages import postgres

TRACE = "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nKeyError: 'k'\n"


def _exists(name: str) -> bool:
    with psycopg.connect(postgres.server_url(), autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


@pytest.mark.postgres
@pytest.mark.parametrize("keep", [False, True])
def test_stage_databases_are_made_fresh_and_dropped_unless_kept(keep):
    prefix = f"threefold_test_{secrets.token_hex(4)}_chaos"
    with postgres.stage_databases(prefix, ("orders", "payments"), keep=keep) as urls:
        assert urls == {
            "orders": postgres.url_for(postgres.server_url(), f"{prefix}_orders"),
            "payments": postgres.url_for(postgres.server_url(), f"{prefix}_payments"),
        }
        with psycopg.connect(urls["orders"]) as connection:
            connection.execute("CREATE TABLE leftover (id int)")
    assert _exists(f"{prefix}_orders") is keep
    # Made again, a kept database starts empty: an old run's tables are gone.
    with (
        postgres.stage_databases(prefix, ("orders", "payments")) as urls,
        psycopg.connect(urls["orders"]) as connection,
    ):
        assert connection.execute("SELECT to_regclass('leftover')").fetchone() == (None,)
    assert not _exists(f"{prefix}_orders") and not _exists(f"{prefix}_payments")


def test_an_unreachable_server_is_one_readable_error():
    with pytest.raises(RuntimeError, match=r"PostgreSQL is not reachable at .*127\.0\.0\.1:1/"):
        postgres.create("postgresql://postgres@127.0.0.1:1/postgres", ["x"])


def test_tracebacks_are_counted_per_process_with_their_exception(tmp_path):
    lines = [
        "notifications | INFO: started",
        "notifications | Traceback (most recent call last):",
        'notifications |   File "x.py", line 1, in f',
        "orders | INFO POST /api/orders 202",
        "notifications | KeyError: 'k'",
        "notifications | Traceback (most recent call last):",
        'notifications |   File "x.py", line 1, in f',
        "notifications | KeyError: 'k'",
        "orders | Traceback (most recent call last):",
        "orders |     raise ValueError('v')",
        "orders | ValueError: v",
        "orders | 2026-12-01 13:02:14,568 orders [-] ERROR order o1 stays pending: x",
        "notifications | ERROR:    Exception in ASGI application",
    ]
    assert tracebacks(lines) == {
        "notifications": {"KeyError: 'k'": 2},
        "orders": {"ValueError: v": 1},
    }
    log = tmp_path / "stage.log"
    log.write_text("\n".join(lines) + "\n")
    assert errors(lines) == {
        "orders": {"order o1 stays pending: x": 1},
        "notifications": {"Exception in ASGI application": 1},
    }
    assert error_notes(log) == [
        "notifications logged 1 error line(s): Exception in ASGI application (x1)",
        "orders logged 1 error line(s): order o1 stays pending: x (x1)",
        "notifications logged 2 traceback(s): KeyError: 'k' (x2)",
        "orders logged 1 traceback(s): ValueError: v (x1)",
    ]
    assert error_notes(tmp_path / "missing.log") == []


def test_json_lines_count_their_errors_and_logged_exceptions():
    """The processes log JSON (shop/telemetry/logs.py): level, message, exception."""
    failed = {"level": "ERROR", "message": "unhandled error", "exception": TRACE}
    lines = [
        'orders | {"level": "INFO", "message": "order o1 confirmed"}',
        f"orders | {json.dumps(failed)}",
        'orders | {"level": "WARNING", "message": "order o2 stays pending: x"}',
        'payments | {"level": "ERROR", "message": "order o3 stays pending"}',
    ]
    assert errors(lines) == {
        "orders": {"unhandled error": 1},
        "payments": {"order o3 stays pending": 1},
    }
    assert tracebacks(lines) == {"orders": {"KeyError: 'k'": 1}}
