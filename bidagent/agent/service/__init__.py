"""The long-running service: daemon, its lock, health, metrics, rule watching, kill switch."""
