"""Parts shared by every process of a scaled-out deployment (Redis: budget, locks)."""
