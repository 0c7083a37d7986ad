"""The local broker: Knative's Broker and Trigger semantics in one small process.

On the cluster a Knative Broker routes the saga's CloudEvents to the functions;
here this process does, reading the very same manifests (k8s/functions/*.yaml),
so the local wiring cannot drift from the cluster's:

    manifests.py  Broker, Trigger and PingSource objects from the YAML files
    events.py     CloudEvents in and out of HTTP, parsed by the cloudevents SDK
    delivery.py   one delivery: POST in binary mode, retries with backoff, replies
    core.py       ingress, trigger filters, fan-out, dead letters, statistics
    ping.py       the PingSource, emulated on a fixed interval
    app.py        the ASGI app: `uvicorn --factory functions.broker.app:create_app`
"""
