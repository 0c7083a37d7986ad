"""Stage 1: the monolith. One Flask app, one database, in-process calls.

The app is made by monolith.app.create_app. This package imports nothing itself:
gunicorn's master imports monolith.gunicorn_conf, which must set the metrics
folder before anything imports prometheus_client (see monolith/metrics_dir.py).
"""
