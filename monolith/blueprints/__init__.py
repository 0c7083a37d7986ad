"""One Flask blueprint per bounded context, plus the health probes."""
