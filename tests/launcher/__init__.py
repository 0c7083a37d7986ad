"""The launcher: ports, readiness, failures, stopping, orphans, the CLI."""
