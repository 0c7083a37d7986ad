"""release-stock: on shop.payment.failed, give the held stock back."""
