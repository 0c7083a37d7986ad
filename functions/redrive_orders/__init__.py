"""redrive-orders: on a ping, publish shop.order.placed again for stuck orders."""
