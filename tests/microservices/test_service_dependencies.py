"""The services' dependencies (microservices/common/deps.py) swapped by a test, in-process.

What a route asks for comes from `app.dependency_overrides` when a test puts it there:
no app.state to patch, no lifespan to run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from microservices.common.deps import get_database, get_settings
from microservices.common.settings import ServiceSettings
from shop.problems import PROBLEM_CONTENT_TYPE
from tests.microservices.in_process import ask, kept_logging, service_app

TOKEN = "a-token-for-this-test"


class UnreachableDatabase:
    def ping(self) -> None:
        raise ConnectionError("no route to the database")


@pytest.fixture
def catalog(tmp_path) -> Iterator:
    with kept_logging():
        yield service_app("catalog", tmp_path)


def test_readyz_answers_503_for_a_database_it_cannot_reach(catalog) -> None:
    catalog.dependency_overrides[get_database] = UnreachableDatabase
    answer = ask(catalog, "GET", "/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["checks"] == {"database": "no route to the database"}
    assert ask(catalog, "HEAD", "/readyz").status_code == 503  # HEAD answers as GET would


def test_the_admin_check_reads_the_settings_dependency(catalog) -> None:
    catalog.dependency_overrides[get_settings] = lambda: ServiceSettings(admin_token=TOKEN)
    path = "/api/products/TF-0001"
    wrong = ask(catalog, "PUT", path, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    assert wrong.headers["content-type"] == PROBLEM_CONTENT_TYPE
    # The overriding token passes the check: the next refusal is the body's (none sent).
    right = ask(catalog, "PUT", path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 415
