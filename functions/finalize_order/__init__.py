"""finalize-order: on a payment or stock outcome, confirm or reject the order."""
