"""Back up and recover: catalogue, restore, retention, expiry watch, notifications, upkeep."""
