"""Start-up errors a person can read: one or two lines that name the cause and the fix.

A process that cannot start (a setting out of its limits, a PostgreSQL
database that does not exist or a server that does not answer, no database
URL in production) prints

    error: PAYMENT_FAILURE_RATE=2 is not allowed: must be at most 1 ...
      (set THREEFOLD_DEBUG=1 to see the traceback)

and exits with EXIT_CODE, instead of a traceback of a hundred lines. With
THREEFOLD_DEBUG=1 the exception is raised as it is. Used by every process's
start: the monolith's gunicorn configuration, `python -m shop.startup` around
the services, the functions and the broker, and the migrate and seed steps.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from shop.persistence.database import MissingDatabaseUrl

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

DEBUG_SETTING = "THREEFOLD_DEBUG"
EXIT_CODE = 2
PREFIX = "error: "  # how the launcher's caller finds these lines among a process's output
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD")

# pydantic's error types -> the rule in words, from the error's context.
RULES = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "string_too_short": "must have at least {min_length} characters",
    "string_too_long": "must have at most {max_length} characters",
    "literal_error": "must be one of {expected}",
    "float_parsing": "must be a number",
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be true or false",
    "json_invalid": "must be valid JSON",
}


def debugging() -> bool:
    return os.environ.get(DEBUG_SETTING, "") not in ("", "0")


def _shown(name: str, value: object) -> str:
    text = str(value)
    if any(word in name for word in SECRET_WORDS):
        return f"{name} (a value of {len(text)} characters)"
    return f"{name}={text}"


def explain_settings(error: ValidationError) -> list[str]:
    """One line per invalid setting: the setting, its value, the rule, what to do."""
    found = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        rule = RULES.get(item["type"], "").format(**item.get("ctx", {})) or item["msg"]
        if not name:  # a rule over several settings: its message names them
            found.append(f"invalid settings: {item['msg'].removeprefix('Value error, ')}")
            continue
        found.append(
            f"{_shown(name, item.get('input'))} is not allowed: {rule}. "
            f"Set {name} to a valid value, or unset it for the default (README: Settings)."
        )
    return found


def _postgres_url_named(database: str) -> str | None:
    """The PostgreSQL URL this process was given for `database` (argv or environment)."""
    for text in [*sys.argv, *os.environ.values()]:
        for candidate in re.findall(r"postgres(?:ql)?(?:\+\w+)?://\S+", text):
            with suppress(ArgumentError):  # not a URL after all: keep looking
                if make_url(candidate).database == database:
                    return candidate
    return None


def explain_database(error: DBAPIError) -> str | None:
    """A PostgreSQL database that does not exist, or a server that does not answer."""
    text = str(error.orig)
    missing = re.search(r'database "([^"]+)" does not exist', text)
    if missing:
        name = missing.group(1)
        given = _postgres_url_named(name)
        url = make_url(given) if given else None
        host = (url.host if url else None) or "127.0.0.1"
        port = (url.port if url else None) or 5432
        user = (url.username if url else None) or "postgres"
        return (
            f'the PostgreSQL database "{name}" does not exist on {host}:{port}. '
            f"Create it: createdb -h {host} -p {port} -U {user} {name}"
        )
    server = re.search(
        r'server at "([^"]+)", port (\d+) failed: (Connection refused|timeout)', text
    )
    if server:
        host, port, why = server.groups()
        return (
            f"PostgreSQL does not answer on {host}:{port} ({why.lower()}). Start it, or point "
            "the database URL at a server that runs."
        )
    return None


def explain(error: BaseException) -> list[str]:
    """What went wrong, as lines a person reads; the exception's first line if not known."""
    if isinstance(error, ValidationError) and error.title and _is_settings(error.title):
        return explain_settings(error)
    if isinstance(error, MissingDatabaseUrl):
        return [str(error)]
    if isinstance(error, DBAPIError):
        known = explain_database(error)
        if known:
            return [known]
    first = (str(error).strip().splitlines() or [""])[0]
    return [f"{type(error).__name__}: {first}" if first else type(error).__name__]


def _is_settings(title: str) -> bool:
    """Whether pydantic's error title names a settings class (ShopSettings, ...)."""
    return any(title == cls.__name__ for cls in _subclasses(BaseSettings))


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def report(error: BaseException, what: str = "") -> None:
    """Print the readable lines of `error` to stderr."""
    where = f"{what}: " if what else ""
    for line in explain(error):
        print(f"{PREFIX}{where}{line}", file=sys.stderr, flush=True)
    print(f"  (set {DEBUG_SETTING}=1 to see the traceback)", file=sys.stderr, flush=True)


@contextmanager
def readable_errors(what: str = "") -> Iterator[None]:
    """Turn an exception into readable lines and exit with EXIT_CODE (unless debugging)."""
    try:
        yield
    except Exception as error:
        if debugging():
            raise
        report(error, what)
        raise SystemExit(EXIT_CODE) from None


def check_settings(settings: type[SettingsT], what: str = "") -> SettingsT:
    """Read `settings` from the environment once, so that a bad value stops the start."""
    with readable_errors(what):
        return settings()


def readable_lines(output: str) -> list[str]:
    """The lines this module printed, found in a process's output (for the launcher's caller)."""
    return [line for line in output.splitlines() if line.startswith(PREFIX)]
