"""payment-read: GET /api/payments?order_id= (admin)."""
