"""Packaging metadata: an SPDX licence expression with its file (no setuptools deprecation), and
the file is the Apache License 2.0 the expression names."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_licence_is_an_spdx_expression_with_its_file() -> None:
    """`license = "Apache-2.0"` and `license-files = ["LICENSE"]`, on a setuptools that reads
    them (77+); the LICENSE file is the full Apache 2.0 text; the image build copies it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert (project["project"]["license"], project["project"]["license-files"]) == (
        "Apache-2.0", ["LICENSE"],
    )  # fmt: skip
    assert "setuptools>=77" in project["build-system"]["requires"]
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert "COPY pyproject.toml README.md LICENSE ./" in (REPO / "Dockerfile").read_text()
