"""release-stock: on shop.order.rejected, give the held stock back."""
