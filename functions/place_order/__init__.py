"""place-order: POST /api/orders saves a pending order and publishes shop.order.placed."""
