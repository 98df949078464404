"""The backtest's HTML report renders its charts in headless Chromium (Debian's, never downloaded).

Skips when ``/usr/bin/chromium`` or the ``playwright`` package is missing, unless
``BIDAGENT_REQUIRE_BROWSER=1`` (CI sets it), which turns a missing browser into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bidagent.agent.backtest.html_report import CHARTS, write_html_report
from bidagent.agent.backtest.run import BacktestSpec, arms_for, run_backtest
from bidagent.settings import load_settings

REQUIRE_ENV = "BIDAGENT_REQUIRE_BROWSER"
# Read at import time: per-test isolation removes every BIDAGENT_* variable before tests run.
REQUIRED = os.environ.get(REQUIRE_ENV, "") not in ("", "0")
CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

# Measured in the page: what a person would see of each chart.
_MEASURE = """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const lines = Array.from(svg.querySelectorAll('polyline.series'));
  return {
    metric: svg.dataset.metric, width: box.width, height: box.height,
    arms: lines.map(l => l.dataset.arm),
    drawn: lines.map(l => l.getTotalLength() > 0 && l.getBBox().width > 0),
  };
})"""


def _browser_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRED:
            raise
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():
        if REQUIRED:
            pytest.fail(f"{REQUIRE_ENV}=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    return sync_playwright


def test_report_charts_render_in_chromium(tmp_path: Path) -> None:
    """Spend, sales and ACoS charts are laid out with one drawn line per arm; no request leaves."""
    sync_playwright = _browser_or_skip()
    config = tmp_path / "bidagent.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/user.db"\n', encoding="utf-8")
    settings = load_settings(config)
    spec = BacktestSpec(days=3, seed=2, targets=30)
    result = run_backtest(settings, spec, arms_for(REPO / "rules", ["none", "oracle"]))
    report = write_html_report(result, tmp_path / "report.html")
    requests: list[str] = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())
            charts = page.evaluate(_MEASURE)
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert [c["metric"] for c in charts] == [metric for metric, _, _ in CHARTS]
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert (chart["arms"], chart["drawn"]) == (["rules", "none", "oracle"], [True] * 3)
    assert requests == [report.as_uri()]
