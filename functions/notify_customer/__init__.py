"""notify-customer: on shop.order.confirmed / rejected, record the message."""
