"""Keeps every copy of the plugins' settings generated from the one source of truth, their `--about` output.

The settings of each plugin are declared once, in its `config_jsonschema`. From `<plugin> --about
--format=json` this script writes:
  - the settings tables in README.md and in each plugin's README (between `<!-- settings:start -->` and
    `<!-- settings:end -->`),
  - the `settings` and `capabilities` of both plugins in meltano.yml (comments and everything else kept),
  - the Hub-style plugin definitions in plugins/ (for `meltano add --from-ref`).

    python scripts/sync_plugin_docs.py           rewrite the files
    python scripts/sync_plugin_docs.py --check   exit 1 if any file is out of date (run by the tests)
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
KIND_BY_JSON_TYPE = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


@dataclass(frozen=True)
class Plugin:
    name: str
    plugin_type: str  # Meltano's plural plugin type: extractors / loaders
    namespace: str
    package_dir: str
    readme_anchor: str

    def about(self) -> dict[str, Any]:
        executable = shutil.which(self.name) or str(Path(sys.executable).parent / self.name)
        output = subprocess.run(
            [executable, "--about", "--format=json"], check=True, capture_output=True, text=True
        ).stdout
        return dict(json.loads(output))


PLUGINS = (
    Plugin("tap-hubspot-raw", "extractors", "tap_hubspot_raw", "tap-hubspot-raw", "tap-settings"),
    Plugin(
        "target-supabase-hybrid",
        "loaders",
        "target_supabase_hybrid",
        "target-supabase-hybrid",
        "target-settings",
    ),
)


def json_type(schema: dict[str, Any]) -> str:
    types = schema.get("type", "string")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), "string")
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        types = next((json_type(option) for option in options if option.get("type") != "null"), "string")
    return str(types)


def meltano_setting(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    kind = KIND_BY_JSON_TYPE.get(json_type(schema), "string")
    if schema.get("format") in {"date-time", "date"}:
        kind = "date_iso8601"
    setting: dict[str, Any] = {"name": name, "label": schema.get("title") or name.replace("_", " ").title()}
    if schema.get("description"):
        setting["description"] = " ".join(str(schema["description"]).split())
    setting["kind"] = kind
    if "default" in schema:
        setting["value"] = schema["default"]
    if schema.get("secret"):
        setting["sensitive"] = True
    return setting


def settings_table(about: dict[str, Any], env_prefix: str) -> str:
    schema = about["settings"]
    required = set(schema.get("required", []))
    rows = [
        "| Setting | Required | Default | Secret | Description | Environment variable |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, prop in schema.get("properties", {}).items():
        default = json.dumps(prop["default"]) if "default" in prop else ""
        description = " ".join(str(prop.get("description", "")).split())
        cells = [
            f"`{name}`",
            "yes" if name in required else "",
            default,
            "yes" if prop.get("secret") else "",
            description,
            f"`{env_prefix}{name.upper()}`",
        ]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


def hub_definition(plugin: Plugin, about: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "namespace": plugin.namespace,
        "variant": "hubspot-supabase",
        "label": plugin.name,
        "description": about.get("description") or plugin.name,
        "pip_url": plugin.name,  # the published package; point it at a checkout until then
        "executable": plugin.name,
        "capabilities": sorted(about["capabilities"]),
        "settings": [meltano_setting(n, s) for n, s in about["settings"].get("properties", {}).items()],
    }


def dump_yaml(data: Any) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def expected_files() -> dict[Path, str]:
    files: dict[Path, str] = {}
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    meltano_path = ROOT / "meltano.yml"
    meltano = yaml.load(meltano_path.read_text())
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    for plugin in PLUGINS:
        about = plugin.about()
        env_prefix = plugin.name.upper().replace("-", "_") + "_"
        table = settings_table(about, env_prefix)
        plugin_readme = ROOT / plugin.package_dir / "README.md"
        files[plugin_readme] = replace_between_markers(
            plugin_readme.read_text(), "settings", table, plugin_readme
        )
        readme = replace_between_markers(readme, plugin.readme_anchor, table, readme_path)
        definition = hub_definition(plugin, about)
        files[ROOT / "plugins" / plugin.plugin_type / f"{plugin.name}--hubspot-supabase.yml"] = dump_yaml(
            definition
        )
        entry = next(p for p in meltano["plugins"][plugin.plugin_type] if p["name"] == plugin.name)
        entry["capabilities"] = definition["capabilities"]
        entry["settings"] = definition["settings"]
    files[readme_path] = readme
    buffer = io.StringIO()
    yaml.dump(meltano, buffer)
    files[meltano_path] = buffer.getvalue()
    return files


def replace_between_markers(text: str, anchor: str, body: str, path: Path) -> str:
    start, end = f"<!-- {anchor}:start -->", f"<!-- {anchor}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path}: markers {start} / {end} missing")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail instead of writing when files are stale")
    args = parser.parse_args()
    stale = []
    for path, content in expected_files().items():
        current = path.read_text() if path.exists() else None
        if current == content:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    if args.check and stale:
        print("Out of date (run `python scripts/sync_plugin_docs.py`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
