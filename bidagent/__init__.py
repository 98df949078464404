"""bidagent: routine Amazon Sponsored Ads bid, budget and state work, written down as rules and run daily.

The public surface of the package is the ``bidagent`` command; modules are importable for tests and
extensions, but only names listed in each module's ``__all__`` are meant to be stable.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bidagent")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
