"""commit-stock: on shop.order.confirmed, the held stock becomes sold."""
