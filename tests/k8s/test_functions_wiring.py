"""Cross-checks of k8s/functions against the functions' code: nothing the code needs is
missing from the manifests, and nothing the manifests name is missing from the overlay."""

from __future__ import annotations

import ast
import base64
import importlib
import os
import tomllib
from typing import Any
from unittest import mock

import pytest

from functions.runtime.settings import FunctionSettings
from gateway import routes
from gateway.settings import GatewaySettings
from shop.persistence.database import database_url, is_sqlite
from tests.k8s.functions_overlay import NAMESPACE, ROOT, knative_services, of_kind

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
FOLDERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/func.py"))
SERVICES = knative_services()


def function_of(folder: str) -> Any:
    return importlib.import_module(f"functions.{folder}.func").new()


def contexts_of(function: Any) -> tuple[str, ...]:
    return tuple(getattr(function, "contexts", ())) or (function.context,)


def settings_read(folder: str) -> set[str]:
    """The settings the function's own module reads (`self.settings.<name>`)."""
    tree = ast.parse((ROOT / "functions" / folder / "func.py").read_text())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "settings"
    }


def local_only(field: str) -> bool:
    """A setting whose default only works on one machine (empty, or 127.0.0.1)."""
    default = FunctionSettings.model_fields[field].default
    return default == "" or (isinstance(default, str) and "127.0.0.1" in default)


def secrets_and_config() -> dict[str, dict[str, str]]:
    values = {}
    for secret in of_kind("Secret"):
        data = secret.get("data", {})
        values[secret["metadata"]["name"]] = {
            k: base64.b64decode(v).decode() for k, v in data.items()
        }
    for config in of_kind("ConfigMap"):
        values[config["metadata"]["name"]] = dict(config.get("data", {}))
    return values


def sink_subjects() -> dict[str, str]:
    """Knative Service name -> the Broker its SinkBinding points K_SINK at."""
    return {
        binding["spec"]["subject"]["name"]: binding["spec"]["sink"]["ref"]["name"]
        for binding in of_kind("SinkBinding")
        if binding["spec"]["subject"]["kind"] == "Service"
    }


def environment(container: dict[str, Any], service: str | None = None) -> dict[str, str]:
    """The container's environment as the kubelet (and a SinkBinding) would give it."""
    values = secrets_and_config()
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef") or source.get("secretRef")
        env.update(values[ref["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"].get("secretKeyRef") or var["valueFrom"]["configMapKeyRef"]
            env[var["name"]] = values[ref["name"]][ref["key"]]
    if service in sink_subjects():
        env["K_SINK"] = f"http://broker-ingress.knative-eventing.svc.cluster.local/{NAMESPACE}/shop"
    return env


def container_of(service: str) -> dict[str, Any]:
    [container] = SERVICES[service]["spec"]["template"]["spec"]["containers"]
    return container


def test_every_function_has_a_knative_service_and_every_service_a_function():
    assert sorted(SERVICES) == sorted(folder.replace("_", "-") for folder in FOLDERS)
    for folder in FOLDERS:
        container = container_of(folder.replace("_", "-"))
        assert container["command"] == ["python", "-m", "shop.startup", f"functions.{folder}"]
        assert container["image"] == f"localhost/threefold/functions:{VERSION}"


def test_every_event_a_function_consumes_has_its_trigger_and_no_trigger_more():
    wanted = set()
    for folder in FOLDERS:
        for event_type in getattr(function_of(folder), "consumes", ()):
            wanted.add((event_type, folder.replace("_", "-")))
    triggers = {
        (t["spec"]["filter"]["attributes"]["type"], t["spec"]["subscriber"]["ref"]["name"])
        for t in of_kind("Trigger")
    }
    assert wanted, "no function declares what it consumes"
    assert triggers == wanted


def test_every_name_the_events_refer_to_exists():
    brokers = {b["metadata"]["name"] for b in of_kind("Broker")}
    for trigger in of_kind("Trigger"):
        spec = trigger["spec"]
        assert spec["broker"] in brokers
        assert spec["subscriber"]["ref"]["name"] in SERVICES
        delivery = spec["delivery"]
        assert {"retry", "backoffPolicy", "backoffDelay", "deadLetterSink"} <= set(delivery)
        assert delivery["deadLetterSink"]["ref"]["name"] == "dead-letters"
    for broker in of_kind("Broker"):
        assert broker["spec"]["delivery"]["deadLetterSink"]["ref"]["name"] in SERVICES
    [ping] = of_kind("PingSource")
    assert ping["spec"]["sink"]["ref"]["name"] == "redrive-orders"
    for subject, sink in sink_subjects().items():
        assert subject in SERVICES and sink in brokers


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_setting_the_function_needs_is_set(folder):
    """Production settings validate, each context's database is PostgreSQL (its own), and
    every setting the function reads whose default only works locally is set."""
    service = folder.replace("_", "-")
    env = environment(container_of(service), service)
    function = function_of(folder)
    assert env.get("THREEFOLD_ENV") == "production"
    with mock.patch.dict(os.environ, env, clear=True):
        FunctionSettings()  # raises on a missing or refused setting (ADMIN_TOKEN ...)
    for context in contexts_of(function):
        url = database_url(context, env)
        assert not is_sqlite(url), f"{service}: no database URL for {context}"
        assert url.rsplit("/", 1)[1] == context, f"{service}: {context} uses {url}"
    for field in settings_read(folder):
        if field in FunctionSettings.model_fields and local_only(field):
            assert field.upper() in env, f"{service} reads {field.upper()}, which is not set"


def test_the_functions_that_publish_have_k_sink_and_their_egress_to_the_broker():
    publishers = {f.replace("_", "-") for f in FOLDERS if "k_sink" in settings_read(f)}
    assert publishers == {"place-order", "redrive-orders"}
    assert set(sink_subjects()) == publishers
    [policy] = [
        p for p in of_kind("NetworkPolicy") if p["metadata"]["name"] == "publishers-to-broker"
    ]
    [expression] = policy["spec"]["podSelector"]["matchExpressions"]
    assert set(expression["values"]) == publishers


def test_the_gateway_routes_to_the_knative_services_of_its_table():
    [deployment] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "gateway"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = environment(container)
    with mock.patch.dict(os.environ, env, clear=True):
        urls = GatewaySettings().upstream_urls()
    assert sorted(urls) == routes.upstreams(routes.FUNCTIONS)
    for name, url in urls.items():
        assert name in SERVICES
        assert url == f"http://{name}.{NAMESPACE}.svc.cluster.local"


SCALE_TO_ZERO_EXCEPTIONS = {
    # the shopper's path: a cold start would land on a page view or a checkout
    "catalog-read",
    "stock-read",
    "order-read",
    "place-order",
}


def test_autoscaling_per_function():
    for name, service in SERVICES.items():
        template = service["spec"]["template"]
        notes = template["metadata"]["annotations"]
        assert notes["autoscaling.knative.dev/class"] == "kpa.autoscaling.knative.dev"
        assert notes["autoscaling.knative.dev/metric"] in ("concurrency", "rps")
        low = int(notes["autoscaling.knative.dev/min-scale"])
        high = int(notes["autoscaling.knative.dev/max-scale"])
        assert float(notes["autoscaling.knative.dev/target"]) > 0
        assert 0 <= low <= high
        assert (low > 0) == (name in SCALE_TO_ZERO_EXCEPTIONS), name
        env = {v["name"]: v.get("value") for v in container_of(name).get("env", [])}
        pool = int(env["DB_POOL_SIZE"]) + int(env["DB_MAX_OVERFLOW"])
        assert template["spec"]["containerConcurrency"] == pool, name
    # one re-drive round at a time (its pending orders are not claimed)
    redrive = SERVICES["redrive-orders"]["spec"]["template"]
    assert redrive["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"] == "1"
    assert redrive["spec"]["containerConcurrency"] == 1


def test_every_function_is_hardened_probed_and_labelled():
    for name, service in SERVICES.items():
        labels = service["metadata"]["labels"]
        template = service["spec"]["template"]
        for where in (labels, template["metadata"]["labels"]):
            assert where["app.kubernetes.io/name"] == name
            assert where["app.kubernetes.io/part-of"] == "threefold"
            assert where["app.kubernetes.io/component"] == "functions"
            assert where["app.kubernetes.io/version"] == VERSION
        assert template["metadata"]["labels"]["threefold.local/database-client"] == "true"
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False
        container = container_of(name)
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveness"
        assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_knative_components_reach_every_function():
    [policy] = [
        p for p in of_kind("NetworkPolicy") if p["metadata"]["name"] == "functions-from-knative"
    ]
    assert policy["spec"]["podSelector"] == {
        "matchExpressions": [{"key": "serving.knative.dev/service", "operator": "Exists"}]
    }
    sources = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
    }
    assert sources == {"kourier-system", "knative-serving", "knative-eventing"}


def test_the_gateway_routes_only_to_functions_with_their_own_folder():
    assert {name.replace("-", "_") for name in routes.upstreams(routes.FUNCTIONS)} <= set(FOLDERS)
