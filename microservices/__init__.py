"""Stage 2: microservices. A FastAPI service per context, each with its own database,
behind one API gateway (the top-level gateway/, which the functions stage uses too);
orders orchestrates the order saga over HTTP.

    catalog        products
    inventory      stock levels and reservations
    orders         orders, and the saga: orders/saga.py
    payments       charges against the simulated provider
    notifications  messages to customers
    common         the service skeleton, settings, calls to peers, internal messages
"""
