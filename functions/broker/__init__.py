"""The local broker: Knative's Broker and Trigger semantics in one small process.

On the cluster a Knative Broker routes the saga's CloudEvents to the functions;
here this process does, reading the very same manifests (k8s/functions/*.yaml),
so the local wiring cannot drift from the cluster's:

    settings.py      where things run locally (BROKER_SUBSCRIBERS, ...), from the environment
    manifests.py     Broker, Trigger and PingSource objects from the YAML files
    wire_format.py   CloudEvents in and out of HTTP, parsed by the cloudevents SDK
    routing.py       trigger filters: which triggers an event goes to, where and how
    capacity.py      the bound on deliveries in flight per subscriber (503 when full)
    delivery.py      one delivery: POST in binary mode, retries with backoff, replies
    clients.py       a pooled HTTP client per destination, the deliveries' connections
    dead_letters.py  the deliveries that failed for good: a store, a file, a sink
    stats.py         counts and the delivery lag (GET /stats)
    ping.py          the PingSource, emulated on a fixed interval
    broker.py        EventBroker: ingress, fan-out and the lifecycle tying them together
    app.py           the ASGI app: `uvicorn --factory functions.broker.app:create_app`
"""
