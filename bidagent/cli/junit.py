"""Rule test results as JUnit XML (``bidagent rules test --junit PATH``), the format CI systems
read: one ``<testsuite>`` per test file, one ``<testcase>`` per case, a ``<failure>`` holding the
case's failure lines. Owns only the XML; running the tests is :mod:`bidagent.engine.ruletests`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

from bidagent.engine.ruletests import TestResult

__all__ = ["junit_xml", "write_junit"]


def junit_xml(results: Sequence[TestResult]) -> str:
    """The JUnit XML document for ``results`` (ids are ``file::case``)."""
    root = ElementTree.Element("testsuites", name="bidagent rules test")
    suites: dict[str, ElementTree.Element] = {}
    for result in results:
        file, _, case = result.id.partition("::")
        suite = suites.get(file)
        if suite is None:
            suite = suites[file] = ElementTree.SubElement(root, "testsuite", name=file)
        testcase = ElementTree.SubElement(suite, "testcase", classname=file, name=case or file)
        if result.failures:
            failure = ElementTree.SubElement(
                testcase, "failure", message=result.failures[0], type="RuleTestFailure"
            )
            failure.text = "\n".join(result.failures)
    for element in (root, *suites.values()):
        total = failed = 0
        for testcase in element.iter("testcase"):
            total += 1
            failed += testcase.find("failure") is not None
        element.set("tests", str(total))
        element.set("failures", str(failed))
        element.set("errors", "0")
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[TestResult], path: Path) -> None:
    """Write :func:`junit_xml` to ``path``."""
    path.write_text(junit_xml(results), encoding="utf-8")
