"""The agent: the cycle, apply and reconcile, review queue, notifications, scheduler, backtest."""
