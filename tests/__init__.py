"""The test suites (see README: Tests)."""
