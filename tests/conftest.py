"""Root test settings: none of the suites may leave a process behind."""
