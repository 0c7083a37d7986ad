"""The shoppers' traffic mix: how often each task runs, and what it adds to Locust's stats.

The locustfile takes its task weights from here, and the report the entries a
task adds, so that the offered load drawn in the report is the locustfile's own.
No locust import: the report reads this in a process gevent must not patch.
"""

from __future__ import annotations

# Task -> weight (a real shop's mix: browse and view often, search now and then, buy rarely).
WEIGHTS = {"browse": 6, "search": 3, "view_product": 10, "place_order": 1}

# Task -> the entries one run of it adds to Locust's Aggregated row. An order adds its POST
# and its "order completion" entry; its status polls are left out: their number depends on
# how fast the stage settles the order.
ENTRIES = {"browse": 1, "search": 1, "view_product": 2, "place_order": 2}

# Task -> the one stats entry (type, name) that counts each run of the task once.
COUNTED_BY = {
    "browse": ("GET", "GET /api/products"),
    "search": ("GET", "GET /api/products?q="),
    "view_product": ("GET", "GET /api/stock/{sku}"),
    "place_order": ("POST", "POST /api/orders"),
}


def entries_per_task() -> float:
    """The mean number of Aggregated entries one task adds, polls left out (1.55)."""
    return sum(WEIGHTS[t] * ENTRIES[t] for t in WEIGHTS) / sum(WEIGHTS.values())
