"""The storefront in a real browser, on every stage: a shopper's whole visit.

One module, so each stage is started once for all of its tests (the `stage` fixture).
The browser has a phone's width (tests/storefront/browser.py), so every test also
shows that the page works there.
"""

from __future__ import annotations

import secrets

from tests.storefront.browser import Shopper
from tests.support.client import ShopClient


def _name_of(shop: ShopClient, sku: str) -> str:
    return shop.get(f"/api/products/{sku}").json()["name"]


def _csp_reports(shopper: Shopper) -> list[str]:
    return [e["message"] for e in shopper.console() if "Content Security Policy" in e["message"]]


def test_search_add_two_items_and_check_out_confirmed_then_declined(stage, shopper):
    shop = stage
    with shopper.step("open-shop"):
        shopper.open_shop()
        shopper.wait(
            lambda: shopper.text("#stage") == f"served by the {shop.stage} stage",
            "the stage's name in the footer",
        )
        assert shopper.fits_the_screen()

    with shopper.step("search"):
        names = shopper.search("oak")
        found = shop.get("/api/products", params={"q": "oak", "per_page": 12}).json()
        assert names == [product["name"] for product in found["items"]]
        assert len(names) >= 2
        assert shopper.text("#result-count") == f"{found['total']} products"
        first, second = found["items"][0], found["items"][1]

    with shopper.step("open-product"):
        shopper.open_product(first["name"])
        assert shopper.text("#price"), "the price is shown"
        first_stock = shopper.stock_shown()
        assert first_stock == shop.stock(first["sku"])["available"]
        assert shopper.fits_the_screen()

    with shopper.step("add-first-item"):
        shopper.add_to_cart(1)
        assert shopper.cart_count() == 1

    with shopper.step("add-second-item"):
        shopper.go("#/?q=oak")
        shopper.shown("#result-count", "the results again")
        shopper.open_product(second["name"])
        second_stock = shopper.stock_shown()
        shopper.add_to_cart(1)
        assert shopper.cart_count() == 2

    email = f"shopper-{secrets.token_hex(4)}@example.com"
    with shopper.step("check-out-good-card"):
        order_id = shopper.check_out(email, "tok_visa")
        assert shopper.final_status() == "confirmed"
        assert shopper.cart_count() == 0, "the cart is emptied by a placed order"
        assert shop.get(f"/api/orders/{order_id}").json()["status"] == "confirmed"

    with shopper.step("stock-dropped"):
        shopper.go(f"#/product/{second['sku']}")
        shopper.stock_becomes(second_stock - 1)
        shopper.go(f"#/product/{first['sku']}")
        shopper.stock_becomes(first_stock - 1)

    with shopper.step("check-out-declined-card"):
        shopper.add_to_cart(1)
        shopper.check_out(email, "tok_decline")
        assert shopper.final_status() == "rejected"
        reason = shopper.text("#order-reason")
        assert "card was declined" in reason and "payment_declined" in reason, reason

    with shopper.step("stock-released"):
        # The declined order's unit is released (at once on the monolith, by an event on
        # the functions stage): once the API says so, the page shows the same stock.
        shopper.go(f"#/product/{first['sku']}")
        shopper.wait(
            lambda: shop.stock(first["sku"])["reserved"] == 0, "the declined unit released"
        )
        shopper.stock_becomes(first_stock - 1)
        assert _csp_reports(shopper) == []
        assert shopper.alerts() == []


def test_a_product_name_with_markup_is_shown_as_text_and_runs_nothing(stage, shopper):
    shop = stage
    names = {
        "script": "<script>alert(1)</script>",
        "image": '<img src="x" onerror="alert(2)">',
    }
    skus = {}
    for kind, name in names.items():
        sku = "X-" + secrets.token_hex(4).upper()
        body = {"sku": sku, "name": name, "description": "<b>not bold</b>", "price_cents": 100}
        assert shop.post("/api/products", json=body, headers=shop.admin).status_code == 201
        shop.post(f"/api/stock/{sku}", json={"quantity": 3}, headers=shop.admin)
        skus[kind] = sku

    with shopper.step("list-markup-products"):
        shopper.open_shop()
        listed = shopper.search(skus["script"])
        assert listed == [names["script"]]
        listed = shopper.search(skus["image"])
        assert listed == [names["image"]]

    with shopper.step("open-markup-product"):
        shopper.open_product(names["image"])
        assert shopper.text(".description") == "<b>not bold</b>"
        shopper.add_to_cart(1)
        assert names["image"] in shopper.text(".added")

    with shopper.step("cart-with-markup"):
        shopper.go(f"#/product/{skus['script']}")
        shopper.wait(lambda: shopper.text("#product-name") == names["script"], "its page")
        shopper.add_to_cart(1)
        shopper.go("#/cart")
        shopper.shown("#email", "the cart")
        cart_names = [link.text for link in shopper.finds(".cart-name")]
        assert sorted(cart_names) == sorted(names.values())

    # Nothing from the names became an element, and no script ran.
    assert (
        shopper.driver.execute_script(
            "return document.querySelectorAll('main script, main img, main b').length"
        )
        == 0
    )
    assert shopper.alerts() == []
    assert _csp_reports(shopper) == []


def test_api_problems_and_a_stage_that_is_down_are_told_in_words(stage, shopper):
    with shopper.step("unknown-product"):
        shopper.open_shop()
        shopper.go("#/product/TF-NOPE1")
        problem = shopper.shown(".problem", "the problem shown").text
        assert problem == "Not found: no product with sku TF-NOPE1"

    with shopper.step("refused-checkout"):
        shopper.go("#/product/TF-0003")
        shopper.stock_shown()
        shopper.add_to_cart(1)
        # An address the browser's own check lets through but the shop refuses (422).
        order = shopper.check_out_expecting_problem("ada@localhost", "tok_visa")
        assert order == "The request is not valid: email: not in the expected form", order

    with shopper.step("stage-down"):
        # The shop's API no longer answers (as when the stage is stopped).
        shopper.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/*"]})
        shopper.go("#/?q=anything")
        problem = shopper.shown(".problem", "the stage-down message").text
        assert f"The {stage.stage} stage is not answering" in problem, problem


def test_keyboard_alone_reaches_a_product_and_the_cart(stage, shopper):
    with shopper.step("tab-to-a-product"):
        shopper.open_shop()
        first_card = shopper.finds(".card-link")[0]
        shopper.tab_until(lambda active: active == first_card, "the first product")
        shopper.press_enter()
        shopper.shown("#add-to-cart", "the product page")

    with shopper.step("tab-to-add-to-cart"):
        shopper.tab_until(lambda active: active.get_attribute("id") == "add-to-cart", "the button")
        shopper.press_enter()
        shopper.wait(lambda: shopper.cart_count() == 1, "one item in the cart")
