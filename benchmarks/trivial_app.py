"""The baseline: a Flask app whose one endpoint returns a constant JSON body.

Served by the monolith's own gunicorn settings, it shows what the web stack
costs on its own, so the monolith's figures can be read as a ratio to it.
"""

from flask import Flask, Response

app = Flask(__name__)
_BODY = b'{"sku":"TF-0001","name":"Oak Mug","price_cents":1239,"currency":"EUR"}'


@app.get("/readyz")
def readyz() -> Response:
    return Response(b'{"status":"ok"}', mimetype="application/json")


@app.get("/trivial")
def trivial() -> Response:
    return Response(_BODY, mimetype="application/json")
