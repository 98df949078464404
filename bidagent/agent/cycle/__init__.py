"""One cycle, step by step: sync, engine inputs, plan into the intent log, apply, reconcile, revert."""
