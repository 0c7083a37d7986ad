"""Products: sku format, field limits, price, currency and text search."""

import pytest

from shop.domain.catalog import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PRICE_CENTS,
    Product,
    is_valid_sku,
    matches,
)
from shop.domain.errors import DomainError, InvalidProduct


def make(**overrides):
    fields = {
        "sku": "MUG-001",
        "name": "Coffee mug",
        "description": "A large white mug",
        "price_cents": 1299,
        "currency": "EUR",
    }
    fields.update(overrides)
    return Product(**fields)


# --- sku -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sku",
    [
        "ABC",  # shortest: 3 characters
        "A" * 32,  # longest: 32 characters
        "0AB",
        "123",
        "A-B",
        "A--",
        "MUG-001",
        "X" + "-" * 31,
    ],
)
def test_valid_skus(sku):
    assert is_valid_sku(sku) is True


@pytest.mark.parametrize(
    "sku",
    [
        "",
        "A",
        "AB",  # too short
        "A" * 33,  # too long
        "-AB",  # must start alphanumeric
        "abc",  # lower case
        "Abc",
        "AB_C",
        "AB C",
        "AB.C",
        "ABC ",
        " ABC",
        "ABC\n",
        "ÄBC",
        "ABC\u0661",  # a non-ASCII digit
        None,
        123,
        b"ABC",
    ],
)
def test_invalid_skus(sku):
    assert is_valid_sku(sku) is False


@pytest.mark.parametrize("sku", ["ab-1", "AB", "-ABC", "A" * 33, "AB_1"])
def test_product_rejects_invalid_sku(sku):
    with pytest.raises(InvalidProduct, match="sku"):
        make(sku=sku)


# --- name and description ------------------------------------------------------------------------


def test_valid_product_keeps_its_fields():
    product = make()
    assert (product.sku, product.name, product.description) == (
        "MUG-001",
        "Coffee mug",
        "A large white mug",
    )
    assert (product.price_cents, product.currency) == (1299, "EUR")


def test_product_is_frozen():
    product = make()
    with pytest.raises(AttributeError):
        product.price_cents = 1  # type: ignore[misc]


@pytest.mark.parametrize("name", ["", " ", "   \t\n"])
def test_empty_or_blank_name_rejected(name):
    with pytest.raises(InvalidProduct, match="name"):
        make(name=name)


def test_name_length_boundary():
    assert make(name="n" * MAX_NAME_LENGTH).name == "n" * MAX_NAME_LENGTH
    with pytest.raises(InvalidProduct, match="name"):
        make(name="n" * (MAX_NAME_LENGTH + 1))


def test_one_character_name_ok():
    assert make(name="x").name == "x"


def test_description_may_be_empty():
    assert make(description="").description == ""


def test_description_length_boundary():
    assert len(make(description="d" * MAX_DESCRIPTION_LENGTH).description) == 2000
    with pytest.raises(InvalidProduct, match="description"):
        make(description="d" * (MAX_DESCRIPTION_LENGTH + 1))


# --- price ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("price", [1, 99, 1299, MAX_PRICE_CENTS])
def test_valid_prices(price):
    assert make(price_cents=price).price_cents == price


@pytest.mark.parametrize(
    "price",
    [0, -1, -1299, MAX_PRICE_CENTS + 1, 2**63, True, False, 12.99, 1299.0, "1299", None],
)
def test_invalid_prices(price):
    with pytest.raises(InvalidProduct, match="price_cents"):
        make(price_cents=price)


def test_max_price_is_one_million():
    assert MAX_PRICE_CENTS == 100_000_000


# --- currency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "CHF"])
def test_valid_currencies(currency):
    assert make(currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["", "eur", "Eur", "JPY", "EURO", " EUR", "€"])
def test_invalid_currency(currency):
    with pytest.raises(InvalidProduct, match="currency") as info:
        make(currency=currency)
    assert "CHF, EUR, GBP, USD" in info.value.detail


def test_invalid_product_error_shape():
    with pytest.raises(InvalidProduct) as info:
        make(price_cents=0)
    error = info.value
    assert isinstance(error, DomainError)
    assert error.code == "invalid-product"
    assert error.detail == str(error)
    assert "1 to 100000000" in error.detail


# --- text search ---------------------------------------------------------------------------------


@pytest.fixture
def mug():
    return make(sku="MUG-001", name="Coffee Mug", description="Large white ceramic mug")


@pytest.mark.parametrize(
    "query",
    [
        "mug",
        "MUG",
        "Mug",
        "coffee",
        "COFFEE mug",
        "mug coffee",  # order of words does not matter
        "white ceramic",
        "mug-001",  # the sku is searched too
        "001",
        "cer",  # substrings match
        "  coffee   large  ",  # extra whitespace is ignored
        "coffee ceramic mug-001",  # words may come from different fields
    ],
)
def test_matches(mug, query):
    assert matches(mug, query) is True


@pytest.mark.parametrize(
    "query",
    [
        "tea",
        "coffee tea",  # every word must occur
        "mug black",
        "coffeemug",
        "mug-002",
        "black white",
    ],
)
def test_does_not_match(mug, query):
    assert matches(mug, query) is False


def test_matches_folds_case_like_sql_lower():
    product = make(name="Ärmel Ωmega Straße")
    assert matches(product, "ärmel ΩMEGA") is True
    assert matches(product, "STRASSE") is False  # lower(), not casefold(): as the databases do


def test_empty_query_matches_everything(mug):
    assert matches(mug, "") is True
    assert matches(mug, "   ") is True
