"""The agent, by concern: ``cycle/`` (sync, engine inputs, intent log, apply, reconcile, revert),
``review/`` (items, decisions, escalation, notifications), ``service/`` (daemon, lock, health,
metrics, rule watching, kill switch) and ``backtest/``; ``context`` is what every part works with.
"""
