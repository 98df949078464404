"""The Rules pages over the ledger of real sandbox cycles: every loaded rule with its file, hash
and last cycle's counts, the profile filter, conflict warnings, the daemon's rejected reloads,
files that no longer load, and the read-only YAML view (escaped, never outside rules_dir)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import escape
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bidagent.agent.review.rule_items import raise_rules_review, resolve_rules_review
from bidagent.agent.service.health import check_health
from bidagent.agent.service.rule_watch import RuleWatcher
from bidagent.console.app import create_app
from bidagent.console.rule_files import read_rule_file
from bidagent.console.server import build_state
from bidagent.engine import check_rule_set, load_rule_set
from bidagent.store import ChangeRecord, CycleRecord, session_scope
from bidagent.store.rule_runs import RuleRunRecord
from bidagent.store.types import utcnow
from tests.agent.conftest import STARTER_RULES
from tests.console.conftest import ConsoleWorld, sign_in

_ROW = re.compile(r'<tr data-testid="rule-row" data-rule="([^"]+)">(.*?)</tr>', re.S)
_CELL = re.compile(r'data-col="(\w+)"[^>]*>(.*?)</td>', re.S)

_CONFLICTING = """
rules:
  - name: lower-bids
    entity: target
    when: clicks > 10
    then: { bid: "-10%" }
  - name: raise-bids
    entity: target
    when: orders > 2
    then: { bid: "+10%" }
"""


def _rows(html: str) -> dict[str, dict[str, str]]:
    """The rules table: rule name -> count column -> its text."""
    return {
        name: {key: re.sub(r"<[^>]+>", "", text).strip() for key, text in _CELL.findall(cells)}
        for name, cells in _ROW.findall(html)
    }


@pytest.fixture
def console_on(
    console_world: ConsoleWorld, people: dict[str, str]
) -> Iterator[Callable[[Path], TestClient]]:
    """A viewer's client for the console over the cycled world with another rules folder."""
    clients: list[TestClient] = []

    def make(rules_dir: Path) -> TestClient:
        settings = console_world.settings.model_copy(update={"rules_dir": rules_dir})
        state = build_state(
            settings,
            console_world.agent,
            lambda: check_health(settings, console_world.agent.engine),
        )
        client = TestClient(create_app(state), follow_redirects=False)
        clients.append(client)
        sign_in(client, "viewer")
        return client

    yield make
    for client in clients:
        client.close()


def _copy_starter(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(STARTER_RULES, folder, ignore=shutil.ignore_patterns("*.test.yaml"))
    return folder


_NONE = {"matched": "0", "applied": "0", "held": "0", "skipped": "0", "others": ""}


def _expected_counts(world: ConsoleWorld, names: list[str]) -> dict[str, dict[str, str]]:
    """Each rule's newest cycle_rules row and its changes' statuses, read straight from the
    tables (the world has one profile); zeros for a rule no cycle ran."""
    with Session(world.agent.engine) as session:
        newest: dict[str, RuleRunRecord] = {}
        for run in session.exec(select(RuleRunRecord)):
            if run.rule_name not in newest or newest[run.rule_name].cycle_id < run.cycle_id:
                newest[run.rule_name] = run
        expected = {}
        for name in names:
            run = newest.get(name)
            if run is None:
                expected[name] = _NONE
                continue
            statuses = Counter(
                session.exec(
                    select(ChangeRecord.status).where(
                        ChangeRecord.rule_name == name, ChangeRecord.cycle_id == run.cycle_id
                    )
                )
            )
            others = [
                f"{s} {n}" for s, n in sorted(statuses.items()) if s not in ("applied", "held")
            ]
            if run.alerts:
                others.append(f"alerts {run.alerts}")
            expected[name] = {
                "matched": str(run.matched),
                "applied": str(statuses["applied"]),
                "held": str(statuses["held"]),
                "skipped": str(run.skipped),
                "others": ", ".join(others),
            }
    return expected


def test_every_loaded_rule_with_file_hash_and_last_cycle_counts(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """A viewer sees every rule of the folder with its file, line and hash, and the counts of
    its newest cycle: matched and skipped from the plan, applied and held from the ledger."""
    client = console()
    sign_in(client, "viewer")
    response = client.get("/rules")
    assert response.status_code == 200
    rule_set = load_rule_set([STARTER_RULES])
    names = [r.name for r in rule_set.rules]
    rows = _rows(response.text)
    assert rows == _expected_counts(console_world, names)
    assert list(rows) == names
    for rule in rule_set.rules:
        file = Path(rule.file).name
        assert f'href="/rules/files/{file}#L{rule.line}"' in response.text
        assert f'title="{rule.file_hash}" data-testid="rule-hash">{rule.file_hash[:12]}<' in (
            response.text
        )
    assert sum(int(r["matched"]) for r in rows.values()) > 0
    assert sum(int(r["applied"]) for r in rows.values()) > 0


def test_the_api_reads_the_same_counts(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """``/api/rules`` carries the same rules and counts, and the rule set's hash."""
    client = console()
    sign_in(client, "viewer")
    body = client.get("/api/rules").json()
    rule_set = load_rule_set([STARTER_RULES])
    assert (body["loaded"], body["ruleset_hash"], body["errors"], body["warnings"]) == (
        True, rule_set.hash, [], [],
    )  # fmt: skip
    expected = _expected_counts(console_world, [r.name for r in rule_set.rules])
    got = {
        r["name"]: {
            "matched": str(r["totals"]["matched"]),
            "applied": str(r["totals"]["statuses"].get("applied", 0)),
            "held": str(r["totals"]["statuses"].get("held", 0)),
            "skipped": str(r["totals"]["skipped"]),
        }
        for r in body["rules"]
    }
    assert got == {
        name: {k: v for k, v in counts.items() if k != "others"}
        for name, counts in expected.items()
    }
    assert [r["file_hash"] for r in body["rules"]] == [r.file_hash for r in rule_set.rules]


def test_the_profile_filter_shows_that_profiles_last_cycles(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """``?profile=`` counts only that profile's cycles: the world's profile shows the same
    counts, a profile without cycles shows none."""
    client = console()
    sign_in(client, "viewer")
    (profile_id,) = {r.profile_id for r in _runs(console_world)}
    everyone = _rows(client.get("/rules").text)
    assert _rows(client.get(f"/rules?profile={profile_id}").text) == everyone
    none = client.get("/rules?profile=404")
    assert set(_rows(none.text)) == set(everyone)
    assert {row["matched"] for row in _rows(none.text).values()} == {"0"}
    assert none.text.count("no cycle yet") == len(everyone)


def _runs(world: ConsoleWorld) -> list[RuleRunRecord]:
    with Session(world.agent.engine) as session:
        return list(session.exec(select(RuleRunRecord).order_by(col(RuleRunRecord.cycle_id))))


def test_conflict_warnings_are_listed_and_marked(
    console_on: Callable[[Path], TestClient], tmp_path: Path
) -> None:
    """Two rules that move bids in opposite directions at the same priority: the loader's
    warning is listed, naming both, and the later rule's row is marked."""
    folder = _copy_starter(tmp_path)
    (folder / "fight.yaml").write_text(_CONFLICTING, encoding="utf-8")
    html = console_on(folder).get("/rules").text
    warnings = re.findall(r'data-testid="conflict-item">(.*?)</li>', html, re.S)
    assert len(warnings) == 1
    assert "<code>fight.yaml:" in warnings[0]
    assert 'rule <a href="/rules/raise-bids">raise-bids</a>' in warnings[0]
    assert "opposite direction of rule &#39;lower-bids&#39;" in warnings[0]
    row = dict(_ROW.findall(html))["raise-bids"]
    assert 'data-testid="rule-warning">1 warning<' in row


def test_a_rejected_reload_shows_its_problems_until_a_clean_one(
    console_on: Callable[[Path], TestClient], console_world: ConsoleWorld, tmp_path: Path
) -> None:
    """A bad edit the daemon's watcher rejects shows the problems of its ``rules`` review item
    (the last good set keeps running); the next clean load resolves it and the page says so."""
    folder = _copy_starter(tmp_path)
    engine = console_world.agent.engine
    watcher = RuleWatcher(
        folder, lambda error, fp: raise_rules_review(engine, folder, error, fp, utcnow())
    )
    (folder / "broken.yaml").write_text("rules:\n  - name: Bad Name\n", encoding="utf-8")
    assert watcher.poll() is False
    found = check_rule_set([folder])[1]
    client = console_on(folder)
    html = client.get("/rules").text
    problems = re.findall(r'data-testid="reload-problem"><code>(.*?)</code>', html)
    assert problems == [str(escape(str(p))) for p in found if p.severity == "error"]
    assert len(problems) == 4 and all(f"{folder}/broken.yaml:2:" in p for p in problems)
    assert 'data-testid="reload-rejected"' in html
    (folder / "broken.yaml").unlink()
    assert watcher.poll() is True
    resolve_rules_review(engine, folder, utcnow())
    html = client.get("/rules").text
    assert 'data-testid="reload-rejected"' not in html
    assert 'data-testid="reload-clean"' in html


def test_files_that_do_not_load_show_their_errors_and_the_last_cycles_rules(
    console_on: Callable[[Path], TestClient], console_world: ConsoleWorld, tmp_path: Path
) -> None:
    """A folder with an error lists the loader's errors (file inside the folder, line, column)
    and, since no set loads, the rules of the last cycles from their records."""
    folder = _copy_starter(tmp_path)
    (folder / "broken.yaml").write_text("rules: [1]\n", encoding="utf-8")
    html = console_on(folder).get("/rules").text
    errors = re.findall(r'data-testid="file-error-item"><code>(.*?)</code>(.*?)</li>', html)
    assert errors == [("broken.yaml:1:9", ": a rule is a mapping")]
    ran = sorted({r.rule_name for r in _runs(console_world)})
    assert sorted(_rows(html)) == ran
    assert "Rules of the last cycles" in html


def test_the_yaml_view_escapes_html(
    console_on: Callable[[Path], TestClient], tmp_path: Path
) -> None:
    """A rule file's text is shown escaped, on the file view and on its rule's page, with the
    rule's line marked."""
    folder = _copy_starter(tmp_path)
    text = (
        "rules:\n  - name: sneaky\n    description: <script>alert('x')</script> & more\n"
        "    entity: campaign\n    when: cost > 5\n    then: { review: { message: hi } }\n"
    )
    (folder / "sneaky.yaml").write_text(text, encoding="utf-8")
    client = console_on(folder)
    for url in ("/rules/files/sneaky.yaml", "/rules/sneaky"):
        response = client.get(url)
        assert response.status_code == 200
        assert "<script>alert" not in response.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in response.text
        lines = re.findall(
            r'<span id="L(\d+)" class="line[^"]*"><span class="ln">\d+</span>', response.text
        )
        assert lines == [str(n) for n in range(1, 7)]
    assert '<span id="L2" class="line start">' in client.get("/rules/sneaky").text


def test_the_yaml_view_refuses_paths_outside_the_rules_folder(
    console_on: Callable[[Path], TestClient], tmp_path: Path
) -> None:
    """Only ``*.yaml`` files inside the rules folder are served: ``..``, absolute paths,
    symbolic links out of the folder and other files are "not found"; a subfolder's file is fine."""
    folder = _copy_starter(tmp_path)
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n", encoding="utf-8")
    (folder / "link.yaml").symlink_to(secret)
    (folder / "notes.txt").write_text("not a rule file\n", encoding="utf-8")
    (folder / "team").mkdir()
    (folder / "team" / "extra.yaml").write_text("rules: []\n", encoding="utf-8")
    client = console_on(folder)
    refused = [
        "/rules/files/..%2Fsecret.yaml",
        "/rules/files/%2E%2E/secret.yaml",
        f"/rules/files/{tmp_path}/secret.yaml".replace("//", "/"),
        "/rules/files/%2F" + str(secret).lstrip("/"),
        "/rules/files/link.yaml",
        "/rules/files/notes.txt",
        "/rules/files/missing.yaml",
        "/rules/files/team",
    ]
    for url in refused:
        response = client.get(url)
        assert (url, response.status_code) == (url, 404)
        assert "hunter2" not in response.text
    assert client.get("/rules/files/team/extra.yaml").status_code == 200
    assert read_rule_file(folder, "../secret.yaml") is None
    assert read_rule_file(folder, str(secret)) is None
    assert read_rule_file(folder, "link.yaml") is None
    found = read_rule_file(folder, "team/../team/extra.yaml")
    assert found is not None and (found.name, found.text) == ("team/extra.yaml", "rules: []\n")


def test_a_rules_page_lists_its_newest_cycles(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """``/rules/{name}`` shows the rule's facts, a row per cycle that ran it (newest first) and
    a link to its changes; an unknown rule is 404."""
    client = console()
    sign_in(client, "viewer")
    name = "bleeding-keywords"
    html = client.get(f"/rules/{name}").text
    cycles = [
        int(c) for c in re.findall(r'data-testid="rule-history-row" data-cycle="(\d+)"', html)
    ]
    assert cycles == sorted((r.cycle_id for r in _runs(console_world) if r.rule_name == name),
                            reverse=True)  # fmt: skip
    assert len(cycles) == 2
    assert f'href="/changes?rule={name}"' in html
    assert 'data-testid="rule-name">bleeding-keywords' in html
    missing = client.get("/rules/no-such-rule")
    assert missing.status_code == 404
    assert client.get("/api/rules/no-such-rule").status_code == 404
    api = client.get(f"/api/rules/{name}").json()
    assert [h["cycle_id"] for h in api["history"]] == cycles
    assert api["yaml_file"] == f"{name}.yaml"
    assert api["yaml"] == (STARTER_RULES / f"{name}.yaml").read_text(encoding="utf-8")


def test_signed_out_requests_are_sent_to_sign_in(console: Callable[..., TestClient]) -> None:
    """Without a session every Rules page redirects to the login form and the API answers 401."""
    client = console()
    for url in ("/rules", "/rules/bleeding-keywords", "/rules/files/bleeding-keywords.yaml"):
        response = client.get(url)
        assert (response.status_code, response.headers["location"].split("?")[0]) == (
            302, "/login",
        )  # fmt: skip
    assert client.get("/api/rules").status_code == 401


def test_all_profiles_add_up_each_profiles_last_cycle(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """With a second profile's cycle, the list adds both profiles' last cycles of the rule;
    ``?profile=`` shows that profile's alone."""
    name, other = "bleeding-keywords", "2000000000000002"
    now = datetime(2025, 7, 1, tzinfo=UTC)
    mine = _expected_counts(console_world, [name])[name]  # the world's profile, before
    with session_scope(console_world.agent.engine) as session:
        cycle = CycleRecord(profile_id=other, business_date=now.date(), mode="live",
                            outcome="succeeded", started_at=now)  # fmt: skip
        session.add(cycle)
        session.flush()
        assert cycle.id is not None
        session.add(RuleRunRecord(cycle_id=cycle.id, rule_name=name, profile_id=other,
                                  matched=5, proposed=3, skipped=2, skips={"cooldown": 2}))  # fmt: skip
        for status in ("applied", "applied", "held"):
            session.add(
                ChangeRecord(cycle_id=cycle.id, profile_id=other, entity_kind="keyword",
                             entity_id="k", field="bid", rule_name=name, status=status,
                             created_at=now, updated_at=now)
            )  # fmt: skip
    client = console()
    sign_in(client, "viewer")
    both = _rows(client.get("/rules").text)[name]
    alone = _rows(client.get(f"/rules?profile={other}").text)[name]
    assert alone == {"matched": "5", "applied": "2", "held": "1", "skipped": "2", "others": ""}
    assert both == {
        key: str(int(mine[key]) + int(alone[key]))
        for key in ("matched", "applied", "held", "skipped")
    } | {"others": mine["others"]}
