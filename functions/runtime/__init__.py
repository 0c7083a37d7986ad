"""What every function shares: serving under func-python, settings, HTTP and event plumbing."""
