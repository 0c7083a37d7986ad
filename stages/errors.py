"""The one error the launcher raises: a stage could not be started, said in words."""


class LaunchError(RuntimeError):
    """A process did not start or stay up, or its port was taken; the message says which."""
