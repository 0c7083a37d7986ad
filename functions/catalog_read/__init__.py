"""catalog-read: GET /api/products and /api/products/{sku}."""
