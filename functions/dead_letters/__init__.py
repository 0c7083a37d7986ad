"""dead-letters: the broker's deadLetterSink; keeps every dead letter, lists them (admin)."""
