"""The black-box contract suite (a package, so its module names cannot clash with tests/unit)."""
