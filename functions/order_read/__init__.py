"""order-read: GET /api/orders/{id}, and a customer's orders (admin)."""
