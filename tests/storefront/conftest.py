"""The storefront suite's fixtures: every stage started as the contract suite starts it
(tests/support/stages.py, SQLite), one headless chromium for the whole session, and a
`shopper` per test whose step screenshots are written to the test's tmp_path on failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from selenium import webdriver

from tests.storefront.browser import FAILED, Shopper, keep_screenshots_of_failure, start_chromium
from tests.support.client import ShopClient
from tests.support.stages import start_stage

ADMIN_TOKEN = "storefront-suite-admin-token"
STAGES = ["monolith", "microservices", "functions"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def browser(tmp_path_factory) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


# Module-scoped, in this order: one stage runs at a time, so the suite stays light.
@pytest.fixture(scope="module", params=STAGES)
def stage(request, tmp_path_factory) -> Iterator[ShopClient]:
    data_dir = tmp_path_factory.mktemp(f"storefront-{request.param}")
    with ExitStack() as stack:
        yield start_stage(stack, request.param, "sqlite", data_dir, ADMIN_TOKEN)


@pytest.fixture
def shopper(request, browser, stage: ShopClient, tmp_path) -> Iterator[Shopper]:
    shopper = Shopper(browser, stage.base_url)
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    browser.get_log("browser")  # start each test with an empty console
    yield shopper
    keep_screenshots_of_failure(request.node, shopper, tmp_path)
