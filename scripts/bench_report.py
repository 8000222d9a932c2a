"""What the benchmark measured and how it reports it: one row a scenario, printed as it finishes and as a
markdown table (plus results.json) at the end.

The floor is the least time HubSpot's limits allow for the requests made: max over the three budgets of
(successful requests of that kind / allowed rate), the burst budget (limit per 10 s) for list, batch,
property and object requests, the associations budget (its own limit per 10 s) for v4 association
requests, the search budget (5/s) for search requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness.presets import BENCH_TOKEN, BURST_WINDOW_S, FREE_LIMITS, SEARCH_WINDOW_S

MB = 1024 * 1024
NOT_RATE_LIMITED = {"oauth", "other"}
_SECRET_PATTERNS = [
    re.compile(r"(pat-[a-z0-9-]+)", re.I),
    re.compile(r"(Bearer\s+)\S+", re.I),
    re.compile(r'("?(?:access_token|refresh_token|client_secret|password)"?\s*[:=]\s*)"?[^",}\s]+', re.I),
    re.compile(r"(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+(@)"),
]


@dataclass
class Measured:
    """One pipeline (or tap-only) run, as measured."""

    wall: float = 0.0  # tap start -> the later of tap exit and target exit
    tap_wall: float = 0.0  # tap start -> tap exit
    records: int = 0
    records_by_stream: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0  # of Singer messages
    peak_tap: int = 0
    peak_target: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds (user + system): tap, target, simulator
    state: dict[str, Any] | None = None
    stats: dict[str, Any] = field(default_factory=dict)  # the simulator's request counters


@dataclass
class Row:
    """A scenario's line in the report."""

    scenario: str
    goal: str
    result: Measured | None = None
    verdict: str = "ERROR"  # PASS / FAIL / ERROR
    note: str = ""
    limits: dict[str, int] = field(default_factory=lambda: dict(FREE_LIMITS))
    rate_limited_run: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.result.stats.get("total", 0)) if self.result else 0

    @property
    def throttled(self) -> int:
        return int(self.result.stats.get("rate_limited", {}).get("total", 0)) if self.result else 0

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    def floor(self) -> float | None:
        """Least time the limits allow for the requests that succeeded (None when limits were off)."""
        if not self.result or not self.rate_limited_run:
            return None
        stats = self.result.stats
        by_kind: dict[str, int] = stats.get("by_kind", {})
        limited = stats.get("rate_limited", {})
        search = by_kind.get("search", 0) - int(limited.get("search", 0))
        own = {"search", "associations"}
        burst = sum(n for kind, n in by_kind.items() if kind not in NOT_RATE_LIMITED | own)
        burst -= int(limited.get("burst", 0))
        associations = by_kind.get("associations", 0) - int(limited.get("associations", 0))
        return max(
            burst / (self.limits["burst_limit"] / BURST_WINDOW_S),
            associations / (self.limits["associations_limit"] / BURST_WINDOW_S),
            search / (self.limits["search_limit"] / SEARCH_WINDOW_S),
        )

    def ratio(self) -> float | None:
        floor = self.floor()
        if not floor or not self.result:
            return None
        return self.result.wall / floor

    def judge(self, problems: list[str]) -> None:
        """PASS without problems, else FAIL with them in the note."""
        self.verdict = "FAIL" if problems else "PASS"
        if problems:
            self.note = "; ".join(filter(None, [self.note, *problems]))


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_row(row: Row) -> None:
    r = row.result
    lines = [f"--- {row.scenario}: {row.verdict}  (goal: {row.goal})"]
    if row.note:
        lines.append(f"    {row.note}")
    if r is not None:
        rate = r.records / r.wall if r.wall else 0
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(r.stats.get("by_kind", {}).items()))
        per_stream = ", ".join(f"{k} {v:,}" for k, v in sorted(r.records_by_stream.items()))
        lines += [
            f"    wall {r.wall:.2f} s (tap {r.tap_wall:.2f} s)",
            f"    requests {row.requests} ({by_kind or 'none'}); 429s {row.throttled} "
            f"({row.throttled_share:.2%})",
            f"    records {r.records:,} ({per_stream}); {rate:,.0f} records/s; "
            f"{r.size_bytes / MB:,.1f} MB of Singer messages",
            f"    rate-limit floor {fmt(row.floor())} s; wall/floor {fmt(row.ratio(), 2)}",
            f"    peak RSS tap {r.peak_tap / MB:,.0f} MB, target "
            + (f"{r.peak_target / MB:,.0f} MB" if r.peak_target else "- (no target)"),
            "    CPU s " + ", ".join(f"{k} {v:.1f}" for k, v in r.cpu.items()),
        ]
    lines += [f"    {key}: {value}" for key, value in row.extra.items()]
    print("\n".join(lines), flush=True)


def markdown_table(rows: list[Row], quick: bool) -> str:
    head = (
        "| Scenario | Wall (s) | Tap (s) | Requests | 429s | Records | Records/s | Floor (s) | Wall/floor "
        "| Peak RSS tap (MB) | Peak RSS target (MB) | Goal | Result |"
    )
    out = [head, "|" + "---|" * 13]
    for row in rows:
        r = row.result
        if r is None:
            out.append(
                f"| {row.scenario} | - | - | - | - | - | - | - | - | - | - | {row.goal} | {row.verdict} |"
            )
            continue
        rate = r.records / r.wall if r.wall else 0
        out.append(
            f"| {row.scenario} | {r.wall:.1f} | {r.tap_wall:.1f} | {row.requests:,} | {row.throttled} "
            f"| {r.records:,} | {rate:,.0f} | {fmt(row.floor())} | {fmt(row.ratio(), 2)} "
            f"| {r.peak_tap / MB:,.0f} | {(f'{r.peak_target / MB:,.0f}' if r.peak_target else '-')} "
            f"| {row.goal} | {row.verdict} |"
        )
    if quick:
        out.append("")
        out.append("_--quick run: portal sizes shrunk 10x; goals are for full sizes._")
    return "\n".join(out)


def row_json(row: Row, quick: bool) -> dict[str, Any]:
    r = row.result
    out: dict[str, Any] = {"scenario": row.scenario, "goal": row.goal, "verdict": row.verdict}
    out["note"], out["quick"] = row.note, quick
    if r is not None:
        floor, ratio = row.floor(), row.ratio()
        out.update(
            wall_s=round(r.wall, 3),
            tap_wall_s=round(r.tap_wall, 3),
            requests=row.requests,
            rate_limited=row.throttled,
            records=r.records,
            records_by_stream=r.records_by_stream,
            records_per_s=round(r.records / r.wall, 1) if r.wall else None,
            floor_s=None if floor is None else round(floor, 2),
            wall_over_floor=None if ratio is None else round(ratio, 3),
            peak_rss_tap_mb=round(r.peak_tap / MB, 1),
            peak_rss_target_mb=round(r.peak_target / MB, 1),
            cpu_s={k: round(v, 2) for k, v in r.cpu.items()},
            simulator_stats=r.stats,
        )
    out.update({k: str(v) for k, v in row.extra.items()})
    return out


def redact(text: str) -> str:
    """Tokens, passwords and credentials in URLs replaced by ***."""
    text = text.replace(BENCH_TOKEN, "***")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(r"\1***\2", text)
        elif pattern.pattern.startswith("(pat-"):
            text = pattern.sub("pat-***", text)
        else:
            text = pattern.sub(r"\1***", text)
    return text


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log, without the SDK's METRIC noise and without secrets."""
    if not path.exists():
        return "(no output)"
    data = path.read_bytes()[-64_000:].decode("utf-8", "replace").splitlines()
    useful = [line for line in data if "METRIC:" not in line] or data
    return redact("\n".join(useful[-lines:]))
