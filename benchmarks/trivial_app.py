"""The baseline: a Flask app whose one endpoint returns a constant JSON body.

Served by the monolith's own gunicorn settings, it shows what the web stack
costs on its own, so the monolith's figures can be read as a ratio to it.
"""

import json

from flask import Flask, Response

from shop.instance import this_instance

app = Flask(__name__)
_BODY = b'{"sku":"TF-0001","name":"Oak Mug","price_cents":1239,"currency":"EUR"}'


@app.get("/readyz")
def readyz() -> Response:
    # The launcher accepts a readiness answer only if it names the process it started.
    body = json.dumps({"status": "ok", "instance": this_instance()})
    return Response(body, mimetype="application/json")


@app.get("/trivial")
def trivial() -> Response:
    return Response(_BODY, mimetype="application/json")
