"""Helpers the test suites share (PostgreSQL databases, the API client)."""
