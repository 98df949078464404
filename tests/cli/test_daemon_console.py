"""What `bidagent run` prints at INFO: one summary line per cycle, no line per change, none of
APScheduler's narration."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import invoke, sandbox_config


def test_the_daemon_console_has_one_summary_line_per_cycle(tmp_path: Path) -> None:
    """Two simulated days give two `cycle_summary` lines naming the counts and the kill switch;
    change, report and token events stay at DEBUG and APScheduler says nothing."""
    config = sandbox_config(tmp_path)
    text = config.read_text().replace('level = "WARNING"', 'level = "INFO"')
    config.write_text(text.replace("[sandbox]\n", "[sandbox]\nseconds_per_day = 0.5\n"))
    result = invoke(config, "run", "--days", "2")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stderr.splitlines()]
    names = [e["event"] for e in events]
    summaries = [e for e in events if e["event"] == "cycle_summary"]
    assert len(summaries) == 2
    for summary in summaries:
        assert summary["paused"] is False
        assert ": succeeded; applied " in summary["line"] and "review items" in summary["line"]
    routine = {"change_applied", "batch_sent", "report_requested", "report_downloaded",
               "token_refreshed", "entities_synced", "reports_synced", "cycle_finished"}  # fmt: skip
    assert routine.isdisjoint(names), names
    assert not [e for e in events if e["logger"].startswith("apscheduler")]
    assert names[:2] == ["rules_loaded", "daemon_started"] and names[-1] == "daemon_stopped"
