"""Use cases per context: each takes a session, loads, applies the domain rules, saves.

The monolith calls them in-process inside one transaction; the other stages
call the same functions from their own services and functions, each on its
own context's database.
"""
