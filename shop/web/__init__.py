"""HTTP plumbing every web process shares: ASGI helpers, input, request heads and ids."""
