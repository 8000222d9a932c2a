"""Checks the installed dependency set for known vulnerabilities with pip-audit (run by scripts/test).

Fails on any known vulnerability. Packages pip-audit cannot look up (its vulnerability service unreachable, or
a version the service does not know) are reported by count rather than silently passed: a machine whose
network reaches only the package index audits little, and the output says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PIP_AUDIT = str(Path(sys.executable).parent / "pip-audit")


def main() -> int:
    result = subprocess.run(
        [PIP_AUDIT, "--skip-editable", "--progress-spinner", "off", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        dependencies = json.loads(result.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        print(f"pip-audit could not run: {result.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    for dep in vulnerable:
        ids = ", ".join(vuln["id"] for vuln in dep["vulns"])
        print(f"VULNERABLE {dep['name']} {dep['version']}: {ids}", file=sys.stderr)
    audited = len(dependencies) - len(skipped)
    print(
        f"pip-audit: {audited} of {len(dependencies)} installed packages audited, "
        f"{len(vulnerable)} vulnerable; {len(skipped)} not audited "
        "(editable, or unknown to the vulnerability service reachable from here)",
        file=sys.stderr,
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
