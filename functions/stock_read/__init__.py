"""stock-read: GET /api/stock/{sku}."""
