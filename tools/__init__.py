"""Developer tools that drive the project from outside (never imported by a stage)."""
