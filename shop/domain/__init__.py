"""The shop's business rules, written once for every stage.

Pure Python: nothing here imports a web framework or a database driver, so the
monolith, the microservices and the functions all share the same rules.
"""
