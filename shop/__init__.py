"""threefold's shared package: the domain rules, persistence and API schemas.

Every stage imports `shop`; `shop` imports no stage.
"""
