"""notification-read: GET /api/notifications?email= (admin)."""
