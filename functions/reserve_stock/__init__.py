"""reserve-stock: on shop.order.placed, hold every line or none."""
