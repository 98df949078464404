"""Backtests: a rule set replayed on sandbox worlds against baselines, and the report."""
