"""Stage 2: microservices. A FastAPI service per context, each with its own database,
behind one API gateway; orders orchestrates the order saga over HTTP.

    gateway        public base URL: routes /api/... to the services
    catalog        products
    inventory      stock levels and reservations
    orders         orders, and the saga: orders/saga.py
    payments       charges against the simulated provider
    notifications  messages to customers
"""
