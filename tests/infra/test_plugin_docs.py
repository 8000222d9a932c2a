"""Settings are declared once (each plugin's config schema); every copy of them is generated from it."""

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_given_current_code_then_readmes_meltano_yml_and_plugin_definitions_match_about_output() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/sync_plugin_docs.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
