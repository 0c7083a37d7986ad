"""charge-payment: on shop.stock.reserved, charge the order."""
