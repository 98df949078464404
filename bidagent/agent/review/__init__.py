"""The review queue: raising and expiring items, decisions, escalation, notifications."""
