"""No private name of singer-sdk is used in the plugins outside their `sdk_private.py` modules.

ruff's SLF001 (enabled for both plugins) flags `other._name` but not `self._name`, `super()._name()`, nor a
method that overrides a private hook of the SDK; this finds those. A private name is any `_name` of the SDK
classes the plugins build on: attributes, methods and properties of the classes (and their SDK bases), and
the instance attributes their code sets on `self`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest
from singer_sdk import BatchSink, RESTStream, Sink, Stream, Tap, Target
from singer_sdk.io_base import SingerReader

from tests.conftest import REPO_ROOT

SDK_CLASSES = (Target, Sink, BatchSink, Stream, RESTStream, Tap, SingerReader)
PACKAGES = [
    REPO_ROOT / "tap-hubspot-raw" / "tap_hubspot_raw",
    REPO_ROOT / "target-supabase-hybrid" / "target_supabase_hybrid",
]
ISOLATED = "sdk_private.py"


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def sdk_private_names() -> frozenset[str]:
    names: set[str] = set()
    for sdk_class in SDK_CLASSES:
        for owner in sdk_class.__mro__:
            if not owner.__module__.startswith("singer_sdk"):
                continue
            names.update(name for name in vars(owner) if is_private(name))
            names.update(re.findall(r"\bself\.(_[A-Za-z]\w*)", inspect.getsource(owner)))
    return frozenset(name for name in names if is_private(name))


PRIVATE = sdk_private_names()


class PrivateUses(ast.NodeVisitor):
    """Uses of `PRIVATE` names in one module: attributes, methods that override a private hook, imports."""

    def __init__(self, sdk_subclasses: set[str], top_level_classes: set[str]) -> None:
        self.sdk_subclasses = sdk_subclasses
        self.top_level_classes = top_level_classes
        self.in_sdk_subclass = False
        self.found: list[str] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        outer = self.in_sdk_subclass
        # A class nested or defined in a function is not looked up: taken for an SDK subclass (to be safe).
        self.in_sdk_subclass = (
            outer or node.name in self.sdk_subclasses or node.name not in self.top_level_classes
        )
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in PRIVATE:
                self.found.append(f"line {item.lineno}: {node.name} defines {item.name}")
        self.generic_visit(node)
        self.in_sdk_subclass = outer

    def visit_Attribute(self, node: ast.Attribute) -> None:
        on_own_object = isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}
        if node.attr in PRIVATE and (self.in_sdk_subclass or not on_own_object):
            self.found.append(f"line {node.lineno}: .{node.attr}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] == "singer_sdk":
            private = [part for part in module.split(".") if is_private(part)]
            private += [alias.name for alias in node.names if is_private(alias.name)]
            if private:
                self.found.append(f"line {node.lineno}: from {module} import ... ({', '.join(private)})")


def module_name(path: Path) -> str:
    package = next(p for p in PACKAGES if path.is_relative_to(p))
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level_classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    sdk_subclasses: set[str] = set()
    if top_level_classes:  # imported only then: `__main__.py` runs the plugin
        module = importlib.import_module(module_name(path))
        sdk_subclasses = {
            name for name in top_level_classes if issubclass(getattr(module, name), SDK_CLASSES)
        }
    finder = PrivateUses(sdk_subclasses, top_level_classes)
    finder.visit(tree)
    return finder.found


MODULES = sorted(path for package in PACKAGES for path in package.rglob("*.py") if path.name != ISOLATED)


def test_the_sdk_classes_still_have_private_names_to_look_for() -> None:
    assert {"_process_record_message", "_increment_stream_state", "_sinks_active", "_get_context"} <= PRIVATE


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_no_singer_sdk_private_name_is_used_outside_sdk_private(path: Path) -> None:
    found = private_uses(path)
    assert not found, (
        f"{path.relative_to(REPO_ROOT)} uses singer-sdk internals (move them to {ISOLATED}): {found}"
    )


@pytest.mark.parametrize("package", PACKAGES, ids=[p.name for p in PACKAGES])
def test_the_check_finds_what_each_sdk_private_module_uses(package: Path) -> None:
    found = " ".join(private_uses(package / ISOLATED))

    expected = {
        "tap_hubspot_raw": ["._increment_stream_state", "defines _handle_termination"],
        "target_supabase_hybrid": [
            "defines _process_record_message",
            "._get_context",
            "._handle_max_record_age",
        ],
    }[package.name]
    for use in expected:
        assert use in found
