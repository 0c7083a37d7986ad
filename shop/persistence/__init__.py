"""SQLAlchemy 2.x persistence: one set of tables per bounded context."""
