"""Writing rules: `rules check` hints at the usual mistakes, warns of real conflicts only, and
`rules test` prints readable differences and writes JUnit XML for CI."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.cli.conftest import RULES, invoke


def _rule(folder: Path, name: str, when: str, then: str, priority: int = 0) -> None:
    (folder / f"{name}.yaml").write_text(
        f"rules:\n  - name: {name}\n    entity: keyword\n    when: {when!r}\n"
        f"    then: {{ bid: {then!r} }}\n    priority: {priority}\n"
    )


HINTS = [
    (
        "acos > 50%",
        "syntax error: invalid syntax; ACoS is a fraction: write acos > 0.5 (0.5 for 50%)",
    ),
    ("acos > 0.5 && orders > 1", "syntax error: invalid syntax; write 'and' instead of '&&'"),
    ("acos > 0.5 || orders > 1", "syntax error: invalid syntax; write 'or' instead of '||'"),
    ("acos > 0.5 AND orders > 1", "syntax error: invalid syntax; write 'and' in lower case"),
    ("clicks = 0", "syntax error: invalid syntax; compare with '==' ('=' is not a comparison)"),
    ("Orders > 1", "unknown name 'Orders' (names are lower case: write 'orders')"),
    ("ACOS > 0.5", "unknown name 'ACOS' (names are lower case: write 'acos')"),
]


@pytest.mark.parametrize(("when", "message"), HINTS, ids=[w for w, _ in HINTS])
def test_check_hints_at_the_usual_mistakes(tmp_path: Path, when: str, message: str) -> None:
    """Each mistake is reported at its file and line with what to write instead; exit 1."""
    _rule(tmp_path, "r", when, "-10%")
    result = invoke(None, "rules", "check", str(tmp_path))
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{tmp_path / 'r.yaml'}:4:")
    assert line.endswith(f" rule 'r': when: {message}")


def _warnings(folder: Path) -> list[str]:
    result = invoke(None, "rules", "check", str(folder))
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line.startswith("warning: ")]


@pytest.mark.parametrize(
    ("when", "then"),
    [
        ("acos > target_acos", "bid * target_acos / acos"),
        ("acos > 2 * target_acos", "bid * (target_acos / acos)"),
        ("orders == 0", "min(bid, 0.5)"),
        ("clicks > 10", "bid * 0.8"),
    ],
)
def test_two_rules_that_only_lower_a_bid_do_not_conflict(
    tmp_path: Path, when: str, then: str
) -> None:
    """A rule that can only lower the bid and `-20%` at the same priority: no warning."""
    _rule(tmp_path, "a-cut", "clicks > 20 and orders == 0", "-20%")
    _rule(tmp_path, "b-lower", when, then)
    assert _warnings(tmp_path) == []


@pytest.mark.parametrize(
    ("when", "then"),
    [
        ("acos < target_acos", "bid * target_acos / acos"),
        ("orders > 1", "max(bid, suggested_bid_low)"),
        ("bid < suggested_bid_low", "suggested_bid_low"),
        ("orders > 1", "bid * target_acos / acos"),
    ],
)
def test_a_rule_that_can_raise_conflicts_with_one_that_lowers(
    tmp_path: Path, when: str, then: str
) -> None:
    """A rule that may raise the bid (or whose direction is unknown) against `-20%` at the same
    priority is one warning naming both rules."""
    _rule(tmp_path, "a-cut", "clicks > 20 and orders == 0", "-20%")
    _rule(tmp_path, "b-other", when, then)
    (warning,) = _warnings(tmp_path)
    assert warning.startswith(f"warning: {tmp_path / 'b-other.yaml'}:2:1: rule 'b-other': ")
    assert "opposite direction of rule 'a-cut'" in warning


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    """The bleeding-keywords rule with its tests edited to expect a different bid."""
    for name in ("bleeding-keywords.yaml", "bleeding-keywords.test.yaml"):
        shutil.copy(RULES / name, tmp_path / name)
    test = tmp_path / "bleeding-keywords.test.yaml"
    text = test.read_text()
    edited = text.replace(
        "changes: [{rule: bleeding-keywords, entity_id: k1, field: bid, old: 1.00, new: 0.80}]",
        "changes: [{rule: bleeding-keywords, entity_id: k1, field: bid, old: 1.00, new: 0.75}]",
    )
    assert edited != text
    test.write_text(edited)
    return tmp_path


def test_failing_rule_tests_read_as_written(failing: Path) -> None:
    """A failing case names the missing change, how the nearest one differs, and the extra one,
    in the test file's own notation (no Decimal reprs); exit 1."""
    result = invoke(None, "rules", "test", str(failing))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    case = "bleeding-keywords.test.yaml::cuts a keyword that spends without orders"
    at = lines.index(f"FAILED {case}")
    assert lines[at + 1 : at + 3] == [
        "    missing change: {rule: bleeding-keywords, entity_id: k1, field: bid, old: 1, "
        "new: 0.75, status: planned} (new: expected 0.75, got 0.80)",
        "    extra change: {rule: bleeding-keywords, entity_id: k1, field: bid, old: 1.00, "
        "new: 0.80, status: planned}",
    ]
    assert "Decimal(" not in result.stdout
    assert lines[-1].endswith(" passed, 1 failed")


def test_rules_test_writes_junit_xml(
    failing: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`rules test --junit PATH` writes one testsuite per file, one testcase per case, and the
    failure lines in the failing case."""
    report = tmp_path_factory.mktemp("junit") / "rules.xml"
    result = invoke(None, "rules", "test", str(failing), "--junit", str(report))
    assert result.exit_code == 1
    root = ElementTree.parse(report).getroot()
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    passed = int(result.stdout.splitlines()[-1].split()[0])
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (
        "bleeding-keywords.test.yaml", str(passed + 1), "1",
    )  # fmt: skip
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["cuts a keyword that spends without orders"]
    failure = failed[0].find("failure")
    assert failure is not None and failure.text is not None
    assert failure.text.startswith("missing change: {rule: bleeding-keywords")
