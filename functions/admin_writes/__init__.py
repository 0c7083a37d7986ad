"""admin-writes: add and change products, restock (admin)."""
