"""gunicorn's entry point: `gunicorn monolith.wsgi:app`."""

from monolith.app import create_app

app = create_app()
