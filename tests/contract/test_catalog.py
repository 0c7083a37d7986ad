"""The public catalog: the seeded products, paging, text search, one product, bad queries."""

from __future__ import annotations

import secrets

import pytest

from tests.contract.helpers import assert_problem

SEED_SKUS = [f"TF-{n:04d}" for n in range(1, 61)]
# Every seeded description ends "from the threefold shop."; test products never say so.
SEED_QUERY = "threefold"


def page(shop, **params) -> dict:
    answer = shop.get("/api/products", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def skus(result: dict) -> list[str]:
    return [item["sku"] for item in result["items"]]


def every_seed_product(shop) -> list[dict]:
    found = page(shop, q=SEED_QUERY, per_page=100)
    assert found["total"] == len(found["items"])
    return found["items"]


# --- the seeded catalog --------------------------------------------------------------------------


def test_catalog_has_at_least_50_products(shop):
    assert page(shop)["total"] >= 50


def test_the_seed_products_are_tf_0001_to_tf_0060(shop):
    found = {item["sku"] for item in every_seed_product(shop)}
    assert set(SEED_SKUS) <= found


def test_default_paging_is_page_1_of_20(shop):
    result = page(shop)
    assert result["page"] == 1
    assert result["per_page"] == 20
    assert len(result["items"]) == 20


def test_get_one_product(shop):
    answer = shop.get("/api/products/TF-0001")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {
        "sku": "TF-0001",
        "name": "Oak Mug",
        "description": "A mug made of oak, from the threefold shop.",
        "price_cents": 1239,
        "currency": "EUR",
    }


def test_listed_product_is_the_product(shop):
    listed = next(p for p in page(shop, q="oak mug")["items"] if p["sku"] == "TF-0001")
    assert shop.get("/api/products/TF-0001").json() == listed


def test_a_seed_product_has_stock(shop):
    level = shop.stock("TF-0002")
    assert level["sku"] == "TF-0002"
    assert level["available"] >= 0 and level["reserved"] >= 0 and level["sold"] >= 0
    assert level["available"] + level["reserved"] + level["sold"] > 0


# --- paging --------------------------------------------------------------------------------------


def test_pages_are_sorted_by_sku_and_do_not_overlap(shop):
    first = page(shop, per_page=5, page=1)
    second = page(shop, per_page=5, page=2)
    assert (first["page"], first["per_page"]) == (1, 5)
    assert (second["page"], second["per_page"]) == (2, 5)
    assert len(first["items"]) == len(second["items"]) == 5
    assert skus(first) == sorted(skus(first))
    assert skus(second) == sorted(skus(second))
    assert skus(first)[-1] < skus(second)[0]
    assert first["total"] == second["total"]


def test_pages_of_the_seed_products(shop):
    first = page(shop, q=SEED_QUERY, per_page=5, page=1)
    second = page(shop, q=SEED_QUERY, per_page=5, page=2)
    assert skus(first) == SEED_SKUS[0:5]
    assert skus(second) == SEED_SKUS[5:10]
    assert first["total"] == second["total"] >= 60


def test_walking_every_page_gives_every_product_once(shop):
    total = page(shop, q=SEED_QUERY, per_page=1)["total"]
    seen: list[str] = []
    for number in range(1, total // 7 + 2):
        seen += skus(page(shop, q=SEED_QUERY, per_page=7, page=number))
    assert len(seen) == total
    assert seen == sorted(set(seen))


def test_page_past_the_end_is_empty_with_the_total(shop):
    total = page(shop, per_page=5)["total"]
    beyond = page(shop, per_page=5, page=total // 5 + 2)
    assert beyond["items"] == []
    assert beyond["total"] == total
    assert beyond["page"] == total // 5 + 2


def test_last_page_is_partial(shop):
    total = page(shop, q=SEED_QUERY, per_page=100)["total"]
    last = page(shop, q=SEED_QUERY, per_page=7, page=(total - 1) // 7 + 1)
    assert len(last["items"]) == total - 7 * ((total - 1) // 7)


# --- text search ---------------------------------------------------------------------------------


def test_search_finds_a_product_by_its_name(shop):
    result = page(shop, q="oak mug")
    assert "TF-0001" in skus(result)
    for item in result["items"]:
        text = f"{item['sku']} {item['name']} {item['description']}".lower()
        assert "oak" in text and "mug" in text
    assert result["total"] == len(result["items"])


def test_search_is_case_insensitive(shop):
    lower = page(shop, q="oak mug")
    assert page(shop, q="OAK MUG") == lower
    assert skus(page(shop, q="oAk mUg")) == skus(lower)


def test_search_by_sku(shop):
    assert skus(page(shop, q="TF-0001")) == ["TF-0001"]
    assert skus(page(shop, q="tf-0001")) == ["TF-0001"]


def test_every_word_must_match(shop):
    oak = page(shop, q="oak", per_page=100)
    oak_lamp = page(shop, q="oak lamp", per_page=100)
    assert "TF-0011" in skus(oak_lamp)  # the Oak Lamp
    assert "TF-0001" not in skus(oak_lamp)  # the Oak Mug has no lamp in it
    assert set(skus(oak_lamp)) < set(skus(oak))
    assert page(shop, q="oak zzqqxx")["total"] == 0


def test_word_order_does_not_matter(shop):
    assert skus(page(shop, q="mug oak")) == skus(page(shop, q="oak mug"))


@pytest.mark.parametrize(
    "query",
    ["Ärmel", "ärmel", "ÄRMEL", "ωmega", "ΩMEGA", "ärmel ΩMEGA"],
    ids=["exact", "lower", "upper", "greek-lower", "greek-upper", "mixed"],
)
def test_search_is_case_insensitive_beyond_ascii(shop, request, query):
    sku = "U-" + secrets.token_hex(5).upper()
    tag = secrets.token_hex(6)  # only this test's product has it
    body = {"sku": sku, "name": f"Ärmel Ωmega {tag}", "price_cents": 100}
    assert shop.post("/api/products", json=body, headers=shop.admin).status_code == 201
    assert skus(page(shop, q=f"{query} {tag}")) == [sku]


@pytest.mark.parametrize("query", ["zzqqxx", "oak-mug-nothing", "%", "_", "\\"])
def test_search_without_a_match(shop, query):
    result = page(shop, q=query)
    assert result["total"] == 0
    assert result["items"] == []


def test_blank_query_lists_everything(shop):
    assert page(shop, q="   ")["total"] == page(shop)["total"]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sku", ["TF-9999", "NOPE-0001", "tf-0001", "x"])
def test_unknown_product_is_404_problem(shop, sku):
    body = assert_problem(shop.get(f"/api/products/{sku}"), "not-found")
    assert body["status"] == 404


def test_unknown_stock_is_404_problem(shop):
    assert_problem(shop.get("/api/stock/TF-9999"), "not-found")


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": "0"},
        {"per_page": "1000"},
        {"per_page": "101"},
        {"per_page": "-1"},
        {"per_page": "abc"},
        {"page": "0"},
        {"page": "-3"},
        {"page": "abc"},
        {"page": "1.5"},
        {"page": ""},
        {"q": "x" * 101},
    ],
    ids=lambda params: "&".join(f"{k}={v[:8]}" for k, v in params.items()),
)
def test_bad_query_parameters_are_422(shop, params):
    body = assert_problem(shop.get("/api/products", params=params), "validation-error")
    assert body["errors"], body
