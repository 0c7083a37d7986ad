"""Shoppers of the threefold shop, for Locust: one user class, one selectable load shape.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --headless \
        --shape step --load-profile short --pacing fixed --rate 3

The traffic mix is a real shop's (weights as in Online Boutique's load
generator): shoppers browse catalog pages and view products often, search
now and then, and place an order rarely. An order is timed end to end, from
POST /api/orders until GET /api/orders/{id} says it is final, and recorded as
its own entry (type ORDER, name "order completion"): that is where the stages
differ most. An order rejected for lack of stock or a declined card is a
valid answer, so a success of the flow; the outcomes are counted and written
to <csv prefix>_orders.csv when the test stops.

Distributed (`--master` and `--worker`, as k8s/loadtest runs it): the workers
run the shoppers and send their order outcomes to the master with each stats
report; the master, which writes the CSV files, adds them up. The master also
writes the progress file.

Custom options (also as environment variables LOCUST_SHAPE, LOCUST_LOAD_PROFILE,
LOCUST_PACING, LOCUST_RATE, LOCUST_PROGRESS_FILE, LOCUST_STEPS_FILE):

    --shape     steady | step | spike | idle-burst (loadtests/shapes.py)
    --load-profile  full | short (Locust has a --profile of its own)
    --pacing    fixed: each user runs `--rate` tasks per second whatever the response
                times (constant_throughput, open loop in the spirit of wrk2);
                think: a shopper's think time of 1-3 s after each task (closed loop)
    --rate      tasks per second per user when pacing is fixed
    --progress-file  a JSON file rewritten every second (elapsed, users, req/s)
    --steps-file     a JSON-lines file: one line per finished stage of the shape, with that
                     stage's own figures (the capacity ramp reads it, loadtests.capacity_run)
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import gevent
from locust import FastHttpUser, LoadTestShape, between, constant_throughput, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import RequestStats

from loadtests import shapes
from loadtests.traffic_mix import COUNTED_BY, WEIGHTS

FINAL = {"confirmed", "rejected"}
ORDER_TIMEOUT = 30.0  # seconds an order may take to become final before it counts as failed
POLL_INTERVAL = 0.05  # the resolution of the order completion time
DECLINED_SHARE = 0.05  # one order in twenty pays with the provider's test token that declines
THINK_TIME = between(1, 3)
SEEDED_PREFIX = "TF-"
SEEDED_SKUS = [f"TF-{n:04d}" for n in range(1, 61)]  # shop.seed's catalog

# Outcomes of the order flow in this process: confirmed, out_of_stock, payment_declined, ...
# (on a master: those its workers reported)
order_outcomes: Counter[str] = Counter()
OUTCOMES_KEY = "threefold_order_outcomes"  # in a worker's stats report


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument(
        "--shape", choices=list(shapes.SHAPES), default="step", env_var="LOCUST_SHAPE"
    )
    parser.add_argument(
        "--load-profile", choices=shapes.PROFILES, default="short", env_var="LOCUST_LOAD_PROFILE"
    )
    parser.add_argument(
        "--pacing", choices=["fixed", "think"], default="fixed", env_var="LOCUST_PACING"
    )
    parser.add_argument("--rate", type=float, default=3.0, env_var="LOCUST_RATE")
    parser.add_argument("--progress-file", default="", env_var="LOCUST_PROGRESS_FILE")
    parser.add_argument("--steps-file", default="", env_var="LOCUST_STEPS_FILE")


class Shopper(FastHttpUser):
    """A visitor of the shop: browse, search, look at products, sometimes buy one."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.pace = constant_throughput(options.rate) if options.pacing == "fixed" else THINK_TIME
        self.email = f"shopper-{random.getrandbits(40):010x}@example.com"
        # A shopper lands on the catalog: it gives the skus and words of the seeded products
        # (TF-0001 .. TF-0060; products that tests added elsewhere are left alone).
        found = self.client.get("/api/products?per_page=100", name="GET /api/products")
        items = found.json()["items"] if found.status_code == 200 else []
        seeded = [item for item in items if item["sku"].startswith(SEEDED_PREFIX)]
        self.skus = [item["sku"] for item in seeded] or SEEDED_SKUS
        self.words = sorted({w.lower() for item in seeded for w in item["name"].split()}) or ["oak"]

    def wait_time(self) -> float:
        return self.pace(self)

    @task(WEIGHTS["browse"])
    def browse(self) -> None:
        page = random.randint(1, 3)
        self.client.get(f"/api/products?page={page}&per_page=20", name="GET /api/products")

    @task(WEIGHTS["search"])
    def search(self) -> None:
        word = random.choice(self.words)
        self.client.get(f"/api/products?q={word}", name="GET /api/products?q=")

    @task(WEIGHTS["view_product"])
    def view_product(self) -> None:
        sku = random.choice(self.skus)
        self.client.get(f"/api/products/{sku}", name="GET /api/products/{sku}")
        self.client.get(f"/api/stock/{sku}", name="GET /api/stock/{sku}")

    @task(WEIGHTS["place_order"])
    def place_order(self) -> None:
        """POST an order for one unit, then poll it until final; record the whole as one entry."""
        token = "tok_decline" if random.random() < DECLINED_SHARE else "tok_visa"
        body = {
            "email": self.email,
            "payment_token": token,
            "lines": [{"sku": random.choice(self.skus), "quantity": 1}],
        }
        started = time.perf_counter()
        outcome, error = self._order_outcome(body)
        elapsed_ms = (time.perf_counter() - started) * 1000
        order_outcomes[outcome] += 1
        self.environment.events.request.fire(
            request_type="ORDER",
            name="order completion",
            response_time=elapsed_ms,
            response_length=0,
            response=None,
            context={"outcome": outcome},
            exception=error,
        )

    def _order_outcome(self, body: dict) -> tuple[str, Exception | None]:
        with self.client.post(
            "/api/orders", json=body, name="POST /api/orders", catch_response=True
        ) as answer:
            if answer.status_code != 202:
                answer.failure(f"expected 202, got {answer.status_code}")
                return "error", OrderFailed(f"POST /api/orders answered {answer.status_code}")
            order = answer.json()
        deadline = time.monotonic() + ORDER_TIMEOUT
        while order["status"] not in FINAL:
            if time.monotonic() > deadline:
                return "timeout", OrderFailed(f"still {order['status']} after {ORDER_TIMEOUT}s")
            gevent.sleep(POLL_INTERVAL)
            polled = self.client.get(f"/api/orders/{order['id']}", name="GET /api/orders/{id}")
            if polled.status_code != 200:
                return "error", OrderFailed(f"GET /api/orders/{{id}} answered {polled.status_code}")
            order = polled.json()
        return order["reason"] or order["status"], None


class OrderFailed(Exception):
    """The order flow did not reach a final state: no answer, an error, or a timeout."""


class SelectedShape(LoadTestShape):
    """The shape named by --shape in the profile --load-profile (see loadtests/shapes.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.selected: shapes.StagedShape | None = None

    def tick(self) -> tuple[int, float] | None:
        if self.selected is None:
            options = self.runner.environment.parsed_options
            self.selected = shapes.SHAPES[options.shape](options.load_profile)
        return self.selected.at(self.get_run_time())


@events.report_to_master.add_listener
def _send_order_outcomes(client_id: str, data: dict, **_kwargs) -> None:
    """A worker: hand the outcomes counted since its last report to the master."""
    data[OUTCOMES_KEY] = dict(order_outcomes)
    order_outcomes.clear()


@events.worker_report.add_listener
def _add_order_outcomes(client_id: str, data: dict, **_kwargs) -> None:
    """The master: add up the outcomes its workers report."""
    order_outcomes.update(data.get(OUTCOMES_KEY, {}))


@events.test_start.add_listener
def _start_progress(environment: Environment, **_kwargs) -> None:
    # The master forwards its options to the workers: only it (or a lone process) writes.
    path = environment.parsed_options.progress_file
    if path and not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_write_progress, environment, Path(path))


def _write_progress(environment: Environment, path: Path) -> None:
    """Rewrite the progress file every second, for the runner's progress line."""
    options = environment.parsed_options
    total = shapes.SHAPES[options.shape].duration(options.load_profile)
    started = time.monotonic()
    while environment.runner is not None and environment.runner.state != "stopped":
        stats = environment.stats.total
        progress = {
            "elapsed": round(time.monotonic() - started, 1),
            "duration": total,
            "users": environment.runner.user_count,
            "rps": round(stats.current_rps, 1),
            "requests": stats.num_requests,
            "failures": stats.num_failures,
        }
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(progress))
        os.replace(partial, path)
        gevent.sleep(1.0)


class StepRecorder:
    """Each stage of the shape measured on its own, after its first RAMP_SETTLE seconds:
    requests, failures, tasks run, and Locust's p95 of the read path and of order
    completion. A finished stage is appended to the steps file as one JSON line."""

    READ = ("READ", "read path")  # every GET of the catalog and stock (not an order's polls)
    TASKS = frozenset(COUNTED_BY.values())  # the entries that count each task once

    def __init__(self, environment: Environment, path: Path) -> None:
        options = environment.parsed_options
        self.environment = environment
        self.path = path
        self.stages = shapes.SHAPES[options.shape].stages_of(options.load_profile)
        self.rate = options.rate
        self.written = 0
        self._new_step()

    def _new_step(self) -> None:
        self.stats = RequestStats(use_response_times_cache=False)
        self.requests = self.failures = self.tasks = 0

    def _window(self, number: int) -> tuple[float, float]:
        begin = self.stages[number - 1]["duration"] if number else 0.0
        return begin + shapes.RAMP_SETTLE, self.stages[number]["duration"]

    def record(self, request_type: str, name: str, response_time: float, failed: bool) -> None:
        if self.written >= len(self.stages):
            return
        begin, end = self._window(self.written)
        if not begin <= self.environment.shape_class.get_run_time() < end:
            return
        if request_type == ORDER_TYPE:
            self.stats.log_request(ORDER_TYPE, "order completion", response_time, 0)
        else:
            self.requests += 1
            if request_type == "GET" and name != POLL_NAME:
                self.stats.log_request(self.READ[0], self.READ[1], response_time, 0)
            if (request_type, name) in self.TASKS:
                self.tasks += 1
        if failed:
            self.failures += 1

    def run(self) -> None:
        """Write each stage when it ends (the shape stops when the last one has)."""
        while self.written < len(self.stages):
            begin, end = self._window(self.written)
            now = self.environment.shape_class.get_run_time()
            if now >= end:
                origin = time.time() - now  # the wall clock at the shape's start
                self._write(origin + begin, origin + end, end - begin)
                self.written += 1
                self._new_step()
            gevent.sleep(0.2)

    def _write(self, started: float, ended: float, seconds: float) -> None:
        read = self.stats.entries.get((self.READ[1], self.READ[0]))
        order = self.stats.entries.get(("order completion", ORDER_TYPE))
        orders = order.num_requests if order else 0
        attempts = self.requests + orders
        step = {
            "number": self.written + 1,
            "users": int(self.stages[self.written]["users"]),
            "seconds": seconds,
            "started_at": started,
            "ended_at": ended,
            "offered_tasks_per_s": self.stages[self.written]["users"] * self.rate,
            "carried_tasks_per_s": self.tasks / seconds,
            "requests_per_s": self.requests / seconds,
            "read_p95_ms": read.get_response_time_percentile(0.95) if read else None,
            "order_p95_ms": order.get_response_time_percentile(0.95) if order else None,
            "orders": orders,
            "error_rate": self.failures / attempts if attempts else 0.0,
        }
        with self.path.open("a") as handle:
            handle.write(json.dumps(step) + "\n")


ORDER_TYPE = "ORDER"
POLL_NAME = "GET /api/orders/{id}"


@events.test_start.add_listener
def _start_steps(environment: Environment, **_kwargs) -> None:
    path = environment.parsed_options.steps_file
    if not path or isinstance(environment.runner, WorkerRunner):
        return
    recorder = StepRecorder(environment, Path(path))

    def on_request(request_type, name, response_time, exception=None, **_kwargs) -> None:
        recorder.record(request_type, name, response_time, exception is not None)

    environment.events.request.add_listener(on_request)
    gevent.spawn(recorder.run)


@events.quitting.add_listener
def _write_order_outcomes(environment: Environment, **_kwargs) -> None:
    prefix = environment.parsed_options.csv_prefix
    if prefix:
        lines = ["Outcome,Count", *(f"{k},{n}" for k, n in sorted(order_outcomes.items()))]
        Path(f"{prefix}_orders.csv").write_text("\n".join(lines) + "\n")
