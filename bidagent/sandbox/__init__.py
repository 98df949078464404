"""The sandbox: a simulated Amazon Ads marketplace and the fake Ads API that serves it.

Used by tests, the demo and backtests through the same ``bidagent.ads`` client as a real
account; never imported by ``bidagent.engine``, ``bidagent.store`` or ``bidagent.agent``.
"""

from bidagent.sandbox.sandbox import Sandbox, WriteRecord
from bidagent.sandbox.scenarios import SCENARIOS, Scenario, scenario_for

__all__ = ["SCENARIOS", "Sandbox", "Scenario", "WriteRecord", "scenario_for"]
