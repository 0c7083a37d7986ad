"""The framework-free edge rules every stage shares: the request head limits, the Allow
header, strict JSON bodies and single-valued query parameters (exactly at their limits)."""

from __future__ import annotations

import pytest

from shop.problems import Problem
from shop.schemas import OrderIn, ProductQuery, RestockIn
from shop.web.allowed_methods import allow_header
from shop.web.input import parse_json_body, parse_query
from shop.web.request_head import (
    HEADER_FIELD_LIMIT,
    HEADERS_LIMIT,
    MAX_HEADER_FIELDS,
    REQUEST_LINE_LIMIT,
    check_request_head,
    raw_problem_response,
    refused_head,
)

LINE_OVERHEAD = len("GET") + 2 + len("HTTP/1.1")


def refused(method: str, target: int, fields: list[tuple[str, str]]) -> str | None:
    try:
        check_request_head(method, target, "1.1", fields)
    except Problem as problem:
        return problem.type.slug
    return None


def field_of(size: int, name: str = "X-Pad") -> tuple[str, str]:
    """A header field whose line (name, ": ", value, CRLF) is `size` bytes."""
    return name, "v" * (size - len(name) - 4)


def test_the_request_line_limit_is_exact():
    assert refused("GET", REQUEST_LINE_LIMIT - LINE_OVERHEAD, []) is None
    assert refused("GET", REQUEST_LINE_LIMIT - LINE_OVERHEAD + 1, []) == "uri-too-long"


def test_the_header_field_limit_is_exact():
    assert refused("GET", 1, [field_of(HEADER_FIELD_LIMIT)]) is None
    assert refused("GET", 1, [field_of(HEADER_FIELD_LIMIT + 1)]) == "headers-too-large"


def test_the_limit_on_all_fields_together_is_exact():
    fields = [field_of(HEADER_FIELD_LIMIT, f"X-{i}") for i in range(4)]
    fields.append(field_of(HEADERS_LIMIT - 4 * HEADER_FIELD_LIMIT, "X-4"))
    assert refused("GET", 1, fields) is None
    fields[-1] = field_of(HEADERS_LIMIT - 4 * HEADER_FIELD_LIMIT + 1, "X-4")
    assert refused("GET", 1, fields) == "headers-too-large"


def test_the_number_of_fields_is_limited():
    fields = [(f"X-{i}", "1") for i in range(MAX_HEADER_FIELDS)]
    assert refused("GET", 1, fields) is None
    assert refused("GET", 1, [*fields, ("X-last", "1")]) == "headers-too-large"


def test_bytes_fields_count_like_text_ones():
    assert refused("GET", 1, [(b"x-pad", b"v" * HEADER_FIELD_LIMIT)]) == "headers-too-large"


@pytest.mark.parametrize(
    ("received", "slug"),
    [
        (b"GET /" + b"a" * REQUEST_LINE_LIMIT, "uri-too-long"),
        (b"\r\nGET /" + b"a" * REQUEST_LINE_LIMIT + b" HTTP/1.1\r\n", "uri-too-long"),
        (
            b"GET / HTTP/1.1\r\nX-Pad: " + b"v" * (HEADERS_LIMIT + REQUEST_LINE_LIMIT),
            "headers-too-large",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n", "malformed-request"),
    ],
    ids=["line", "line-after-empty-line", "headers", "garbage"],
)
def test_a_head_a_server_could_not_parse_is_classified(received, slug):
    assert refused_head(received).type.slug == slug


def test_the_raw_answer_is_a_complete_problem_response():
    answer = raw_problem_response(refused_head(b"GET /" + b"a" * REQUEST_LINE_LIMIT))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ")
    assert b"\r\nContent-Type: application/problem+json\r\n" in head
    assert f"\r\nContent-Length: {len(body)}\r\n".encode() in head
    assert head.endswith(b"\r\nConnection: close")
    assert b'"type": "https://threefold.example/problems/uri-too-long"' in body


@pytest.mark.parametrize(
    ("methods", "header"),
    [
        ({"GET", "PUT"}, "GET, HEAD, PUT"),
        ({"HEAD", "GET", "OPTIONS"}, "GET, HEAD"),
        ({"post"}, "POST"),
        (set(), ""),
    ],
)
def test_allow_names_head_with_get_and_never_options(methods, header):
    assert allow_header(methods) == header


@pytest.mark.parametrize(
    "raw",
    [
        b'{"quantity": 1, "quantity": 2}',
        b'{"quantity": 1, "x": {"a": 1, "a": 1}}',
        b'{"quantity": 1, "x": [{"a": 1, "a": 2}]}',
        '{"quantity": 1}'.encode("utf-16"),
        '{"quantity": 1}'.encode("utf-16-le"),
        b'\xef\xbb\xbf{"quantity": 1}',
    ],
    ids=["top-level", "nested", "in-a-list", "utf-16", "utf-16-no-bom", "utf-8-bom"],
)
def test_a_body_is_one_value_per_key_in_utf8(raw):
    with pytest.raises(Problem) as refused_body:
        parse_json_body("application/json", raw, RestockIn)
    assert refused_body.value.type.slug == "malformed-request"


def test_the_same_key_in_two_objects_and_non_ascii_utf8_are_fine():
    lines = '[{"sku": "TF-0001", "quantity": 1}, {"sku": "TF-0002", "quantity": 2}]'
    raw = f'{{"email": "zoë@example.com", "payment_token": "tok_visa", "lines": {lines}}}'
    order = parse_json_body("application/json", raw.encode(), OrderIn)
    assert (order.email, order.requested()) == ("zoë@example.com", [("TF-0001", 1), ("TF-0002", 2)])


def test_a_repeated_query_parameter_is_named():
    with pytest.raises(Problem) as refused_query:
        parse_query([("page", "2"), ("q", "oak"), ("page", "3"), ("page", "4")], ProductQuery)
    problem = refused_query.value
    assert problem.type.slug == "validation-error"
    assert problem.extensions["errors"] == [{"loc": ["page"], "msg": "given more than once"}]


def test_unknown_query_parameters_may_repeat():
    params = parse_query([("utm", "a"), ("utm", "b"), ("page", "2")], ProductQuery)
    assert params.page == 2
