"""``python -m bidagent``: the same entry point as the console script."""

from bidagent.cli import main

main()
