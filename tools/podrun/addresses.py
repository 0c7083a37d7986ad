"""Cluster addresses turned into this machine's: every pod here shares one network.

With `--network host` all processes share 127.0.0.1, so a container port (8080 for every
workload) cannot be used as written: each workload gets a free host port, and the
harness moves the container port there in the command, args and environment (bind
addresses such as BIND=0.0.0.0:8080, `--port 8080`, PORT=8080). URLs that name a
Service or a Knative Service of the render (catalog, catalog.ns.svc.cluster.local...)
point at the host port of the workload behind it; PostgreSQL URLs at the local server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tools.podrun.manifests import Workload

DEFAULT_PORTS = {"http": 80, "https": 443}
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^@/\s]*@)?"
    r"(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d+))?"
)
_BIND = re.compile(r"^(?P<host>\[[0-9A-Fa-f:]*\]|[A-Za-z0-9.-]*):(?P<port>\d+)$")


@dataclass(frozen=True)
class Endpoint:
    workload: str
    container_port: int


def spellings(name: str, namespace: str) -> list[str]:
    """The names a Service is reached by: short, with its namespace, and fully qualified."""
    return [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
            f"{name}.{namespace}.svc.cluster.local"]  # fmt: skip


def service_ports(
    objects: list[dict[str, Any]], found: list[Workload]
) -> dict[tuple[str, str], dict[int | str, Endpoint]]:
    """(namespace, Service name) -> its ports, by number and by name, and what they reach."""
    services: dict[tuple[str, str], dict[int | str, Endpoint]] = {}
    for obj in objects:
        if obj.get("apiVersion") != "v1" or obj.get("kind") != "Service":
            continue
        meta, spec = obj["metadata"], obj.get("spec", {})
        namespace = meta.get("namespace", "default")
        selector = spec.get("selector") or {}
        selected = [
            w for w in found
            if w.namespace == namespace and selector
            and all(w.labels.get(k) == v for k, v in selector.items())
        ]  # fmt: skip
        if not selected:
            continue
        target = selected[0]
        ports = services.setdefault((namespace, meta["name"]), {})
        for port in spec.get("ports", []):
            wanted = port.get("targetPort", port["port"])
            if isinstance(wanted, str) and not wanted.isdigit():
                wanted = target.main.port_names.get(wanted, 0)
            ports[int(port["port"])] = Endpoint(target.name, int(wanted))
            if "name" in port:
                ports[port["name"]] = ports[int(port["port"])]
    return services


def cluster_names(
    objects: list[dict[str, Any]], found: list[Workload]
) -> dict[tuple[str, int], Endpoint]:
    """(host, port) -> the workload and container port a cluster address reaches."""
    names: dict[tuple[str, int], Endpoint] = {}
    for (namespace, name), ports in service_ports(objects, found).items():
        for port, endpoint in ports.items():
            if isinstance(port, int):
                names.update({(host, port): endpoint for host in spellings(name, namespace)})
    for w in found:
        if w.kind == "KnativeService" and w.main.ports:
            for host in spellings(w.name, w.namespace):
                names[(host, 80)] = Endpoint(w.name, w.main.ports[0])
    return names


def rewrite_urls(text: str, place: Callable[[re.Match[str]], str | None]) -> str:
    """Every URL in text, replaced by place(match) where that gives a new one."""

    def one(match: re.Match[str]) -> str:
        return place(match) or match.group(0)

    return _URL.sub(one, text)


def peer_url(
    match: re.Match[str],
    names: Mapping[tuple[str, int], Endpoint],
    host_ports: Mapping[str, Mapping[int, int]],
) -> str | None:
    """http://catalog:8080 -> http://127.0.0.1:<the port catalog's process listens on>."""
    scheme = match.group("scheme").lower()
    port = int(match.group("port") or DEFAULT_PORTS.get(scheme, 0))
    endpoint = names.get((match.group("host").lower(), port))
    if endpoint is None or endpoint.workload not in host_ports:
        return None
    local = host_ports[endpoint.workload].get(endpoint.container_port)
    if local is None:
        return None
    return f"{match.group('scheme')}://{match.group('userinfo') or ''}127.0.0.1:{local}"


def _bind(value: str, ports: Mapping[int, int]) -> str | None:
    """'0.0.0.0:8080' or '[::]:8080,0.0.0.0:8080' with the container port moved."""
    parts = value.split(",")
    moved = []
    for part in parts:
        match = _BIND.match(part)
        if not match or int(match.group("port")) not in ports:
            return None
        moved.append(f"{match.group('host')}:{ports[int(match.group('port'))]}")
    return ",".join(moved)


def move_port_in_env(name: str, value: str, ports: Mapping[int, int]) -> str:
    """An environment value with the container port moved to the host port."""
    if "://" in value:
        return value
    if value.isdigit() and int(value) in ports and name.upper().endswith("PORT"):
        return str(ports[int(value)])
    return _bind(value, ports) or value


def move_port_in_argv(argv: list[str], ports: Mapping[int, int]) -> list[str]:
    """`--port 8080`, `--port=8080`, `--bind 0.0.0.0:8080` with the port moved."""
    moved: list[str] = []
    for i, word in enumerate(argv):
        option, eq, value = word.partition("=")
        if eq and option.startswith("-"):
            new = _bind(value, ports) or (
                str(ports[int(value)]) if value.isdigit() and int(value) in ports else value
            )
            moved.append(f"{option}={new}")
        elif word.isdigit() and int(word) in ports and i > 0 and argv[i - 1].startswith("-"):
            moved.append(str(ports[int(word)]))
        else:
            moved.append(_bind(word, ports) or word)
    return moved
