"""make chaos: a load run while processes are killed, restarted, paused and resumed, and
the payment provider is slow and failing; then a reconciliation read from the stage's
databases says whether every promise of the shop held (see the README, "Chaos")."""
