"""A real headless browser for the storefront tests: Debian's chromium through selenium
with Debian's chromium-driver (both installed by `make test`, as root), nothing downloaded.

`Shopper` drives the page the way a person does (search, open, add, check out) and keeps
a screenshot of every step it finished, to be written out when a test fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)  # CSS pixels of a common phone: the page must work at this width
WAIT = 30.0  # seconds for anything the page shows after an API call (a saga included)

# Installed before any page script runs: a called alert() is counted, not shown, so a
# script smuggled in through a product name would be seen even if it ran.
ALERT_TRAP = "window.__alerts = []; window.alert = (m) => { window.__alerts.push(String(m)); };"

T = TypeVar("T")
FAILED = pytest.StashKey[bool]()  # set on each test item by the suite's conftest


def start_chromium(profile: Path) -> webdriver.Chrome:
    for program in (CHROMIUM, CHROMEDRIVER):
        assert Path(program).exists(), f"{program} is missing: `make test` installs it (root)"
    # Selenium Manager must not look for a browser or a driver to download.
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in a container, chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # A window is never narrower than 500 pixels: the phone's viewport is emulated.
    width, height = PHONE
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


class Shopper:
    """One shopper on one stage's storefront; `step` records a screenshot after each step."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.screenshots: list[tuple[str, bytes]] = []

    # --- steps and their screenshots ------------------------------------------------

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        try:
            yield
        finally:  # a failed step is photographed too: it is the one that matters
            self.screenshots.append((name, self.driver.get_screenshot_as_png()))

    def save_screenshots(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        shots = [*self.screenshots, ("at-failure", self.driver.get_screenshot_as_png())]
        written = []
        for number, (name, png) in enumerate(shots, 1):
            path = folder / f"{number:02d}-{name}.png"
            path.write_bytes(png)
            written.append(path)
        (folder / "console.log").write_text(
            "\n".join(f"{e['level']} {e['message']}" for e in self.console())
        )
        return written

    # --- reading the page ------------------------------------------------------------

    def wait(self, check: Callable[[], T], what: str, timeout: float = WAIT) -> T:
        """The first truthy value of `check`; a failure names what was awaited."""

        def probe(_driver) -> T | bool:
            try:
                return check()
            except WebDriverException:  # the element was redrawn under us: look again
                return False

        message = f"waited {timeout:.0f}s for {what} at {self.driver.current_url}"
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(probe, message)

    def find(self, selector: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def finds(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        found = self.finds(selector)
        return found[0].text if found else ""

    def shown(self, selector: str, what: str) -> WebElement:
        return self.wait(lambda: (self.finds(selector) or [None])[0], what)

    def main_text(self) -> str:
        return self.find("main").text

    def console(self) -> list[dict]:
        return self.driver.get_log("browser")

    def alerts(self) -> list[str]:
        """alert() calls the trap counted, and any dialog open all the same."""
        called = self.driver.execute_script("return window.__alerts || []")
        with suppress(NoAlertPresentException):
            called.append("open dialog: " + self.driver.switch_to.alert.text)
        return called

    def fits_the_screen(self) -> bool:
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        )

    # --- acting as a shopper ---------------------------------------------------------

    def open_shop(self) -> None:
        """The storefront at `/`, with an empty cart."""
        self.driver.get(self.base_url + "/")
        self.driver.execute_script("localStorage.clear()")
        self.driver.refresh()
        self.shown("#result-count", "the product list")

    def go(self, hash_path: str) -> None:
        self.driver.execute_script("location.hash = arguments[0]", hash_path)

    def search(self, words: str) -> list[str]:
        """Type into the search box and press Enter; the names listed."""
        box = self.shown("#search", "the search box")
        box.clear()
        box.send_keys(words, Keys.ENTER)
        self.wait(lambda: f'"{words}"' in self.text("main h1"), f"the results for {words!r}")
        self.shown("#result-count", "the result count")
        return [card.text for card in self.finds(".card-name")]

    def open_product(self, name: str) -> None:
        names = self.finds(".card-link .card-name")
        link = next(n for n in names if n.text == name)
        link.click()
        self.wait(lambda: self.text("#product-name") == name, f"the page of {name!r}")

    def stock_shown(self) -> int:
        value = self.wait(
            lambda: self.find("#stock").get_attribute("data-available"), "the stock shown"
        )
        return int(value)

    def stock_becomes(self, expected: int) -> None:
        self.wait(lambda: self.stock_shown() == expected, f"the stock shown to read {expected}")

    def add_to_cart(self, quantity: int = 1) -> None:
        field = self.find("#quantity")
        field.clear()
        field.send_keys(str(quantity))
        self.find("#add-to-cart").click()
        self.wait(lambda: "Added" in self.text(".added"), "the added message")

    def cart_count(self) -> int:
        return int(self.text("#cart-count"))

    def place_order(self, email: str, token: str) -> None:
        """Go to the cart, fill the checkout and press "Place order"."""
        self.find("#cart-link").click()
        self.shown("#email", "the checkout form").send_keys(email)
        card = self.find("#card")
        card.find_element(By.CSS_SELECTOR, f"option[value='{token}']").click()
        self.find("#place-order").click()

    def check_out(self, email: str, token: str) -> str:
        """Place the order and wait for its page; the order id."""
        self.place_order(email, token)
        self.wait(lambda: "#/order/" in self.driver.current_url, "the order page")
        return self.driver.current_url.rsplit("/", 1)[1]

    def check_out_expecting_problem(self, email: str, token: str) -> str:
        """Place an order the shop refuses; the problem the checkout shows."""
        self.place_order(email, token)
        return self.shown("#checkout-outcome .problem", "the refused checkout").text

    def tab_until(self, reached: Callable[[WebElement], bool], what: str, most: int = 40) -> None:
        """Press Tab, from where the focus is, until `reached` holds for the focused element."""
        for _ in range(most):
            self.driver.switch_to.active_element.send_keys(Keys.TAB)
            if reached(self.driver.switch_to.active_element):
                return
        raise AssertionError(f"{what} was not reached with {most} presses of Tab")

    def press_enter(self) -> None:
        self.driver.switch_to.active_element.send_keys(Keys.ENTER)

    def final_status(self) -> str:
        """The order page's status once it is final (it follows the order while pending)."""

        def final() -> str | None:
            status = self.find("#order-status").get_attribute("data-status")
            return status if status in ("confirmed", "rejected") else None

        return self.wait(final, "a final order status")


def keep_screenshots_of_failure(item: pytest.Item, shopper: Shopper, tmp_path: Path) -> None:
    """After a test: if it failed, its step screenshots go to tmp_path/screenshots."""
    if item.stash.get(FAILED, False):
        written = shopper.save_screenshots(tmp_path / "screenshots")
        print(f"storefront screenshots: {written[0].parent}")
