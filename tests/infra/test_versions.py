"""One version for the release: the newest CHANGELOG entry is what both packages declare."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

VERSION = re.compile(r"^version = \"([^\"]+)\"$", flags=re.MULTILINE)  # pyproject.toml's [project] version


def test_newest_changelog_entry_is_the_version_of_both_plugins() -> None:
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    newest = re.findall(r"^## (\d+\.\d+\.\d+)\b", changelog, flags=re.MULTILINE)[0]
    for package in ("tap-hubspot-raw", "target-supabase-hybrid"):
        (version,) = VERSION.findall((REPO_ROOT / package / "pyproject.toml").read_text())
        assert version == newest, package
