"""Pipeline benchmark (scripts/bench): tap-hubspot-raw | target-supabase-hybrid against the simulator.

Every scenario runs the real CLIs as separate processes through the tests' pipeline runner
(tests/harness/runner.py), which counts the tap's RECORD lines on their way to the target and samples the
resident memory of the tap and of the target (each with its children) every 100 ms. The simulator runs in its
own process (so it shares no GIL with what is measured) and its control API supplies the request counts;
PostgreSQL is the local one from tests/local_postgres.py (data in .data/bench-postgres, a fresh database per
scenario). Portals are the presets of tests/harness/presets.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_scenarios  # noqa: E402
from bench_report import Measured, Row, markdown_table, print_row, redact, row_json, tail  # noqa: E402
from bench_scenarios import BY_NAME, NAMES, Outcome, Scenario, change_plan  # noqa: E402

from tests.harness import runner  # noqa: E402
from tests.harness.control import SimulatorNotReadyError, SimulatorProcess  # noqa: E402
from tests.harness.presets import (  # noqa: E402
    BENCH_TOKEN,
    FREE_LIMITS,
    PRO_BURST,
    memory_portal,
    seed_portal,
)
from tests.harness.processes import stop_all  # noqa: E402
from tests.local_postgres import LocalPostgres  # noqa: E402

DATA = ROOT / ".data"
PG_DATA = DATA / "bench-postgres"
WORK = DATA / "bench"
PORTALS = {
    "seed": seed_portal,
    "seed-sparse": lambda scale: seed_portal(scale, "sparse"),
    "seed-opaque": lambda scale: seed_portal(scale, "opaque"),
    "memory": memory_portal,
}


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class Bench:
    """Runs scenarios from the table, keeping what they share: PostgreSQL, simulators, the last sync."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.scale = 10 if args.quick else 1
        self.pg: LocalPostgres | None = None
        self.simulators: dict[str, SimulatorProcess] = {}
        self.tap_settings = self._tap_settings()
        self.rows: list[Row] = []
        self.results: dict[str, Measured] = {}
        # The last sync of the seed portal: (database, state), for the incremental scenarios.
        self.baseline: tuple[str, dict[str, Any]] | None = None

    # --- resources ------------------------------------------------------------------------------------
    def _tap_settings(self) -> set[str]:
        """The settings the installed tap knows (an older tap may lack the tier setting)."""
        try:
            out = subprocess.run(
                [*runner.TAP_CLI, "--about", "--format=json"],
                capture_output=True,
                timeout=120,
                check=True,
                cwd=ROOT,
            ).stdout
            return set(json.loads(out)["settings"]["properties"])
        except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            log(f"could not read the tap's settings ({exc}); using only the required ones")
            return set()

    def postgres(self) -> LocalPostgres:
        if self.pg is None:
            log("starting PostgreSQL (.data/bench-postgres)")
            self.pg = LocalPostgres(PG_DATA, durable=False)
            self.pg.start()
        return self.pg

    def _admin(self, database: str | None = None) -> Any:
        pg = self.postgres()
        return psycopg2.connect(pg.url(database) if database else pg.admin_url)

    def fresh_database(self, name: str) -> str:
        conn = self._admin()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.postgres().url(name)

    def table_counts(self, database: str) -> dict[str, int]:
        conn = self._admin(database)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' "
                    "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
                counts = {}
                for schema, table in cur.fetchall():
                    cur.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
                    counts[table] = int(cur.fetchone()[0])
                return counts
        finally:
            conn.close()

    def preset(self, portal: str) -> dict[str, Any]:
        return PORTALS[portal](self.scale)

    def simulator(self, portal: str) -> SimulatorProcess:
        """The portal's simulator, started once; the seed portal's is stopped while the memory one runs."""
        if portal not in self.simulators:
            for other in [name for name in self.simulators if name != "seed"]:
                self.simulators.pop(other).stop()  # frees its memory and CPU for the measurement
            if portal == "memory" and "seed" in self.simulators:
                self.simulators.pop("seed").stop()
                self.baseline = None
            preset = self.preset(portal)
            sizes = ", ".join(f"{preset[t]:,} {t}" for t in ("contacts", "deals", "calls"))
            log(f"starting the HubSpot simulator ({sizes})")
            WORK.mkdir(parents=True, exist_ok=True)
            try:
                self.simulators[portal] = SimulatorProcess(preset, WORK / f"simulator-{portal}.log")
            except SimulatorNotReadyError as exc:
                raise BenchError(f"{exc}:\n{tail(WORK / f'simulator-{portal}.log')}") from None
        return self.simulators[portal]

    def tap_config(self, sim: SimulatorProcess, tier: str | None, row: Row | None = None) -> dict[str, Any]:
        config: dict[str, Any] = {
            "access_token": BENCH_TOKEN,
            "api_url": sim.url,
            "start_date": "2000-01-01T00:00:00Z",
        }
        if tier is None:
            return config
        if "rate_limit_tier" in self.tap_settings:
            config["rate_limit_tier"] = tier
        elif "requests_per_10_seconds" in self.tap_settings:
            config["requests_per_10_seconds"] = (
                PRO_BURST if tier == "professional" else FREE_LIMITS["burst_limit"]
            )
        elif row is not None and tier != "free":
            row.note = "the tap has no rate-limit tier setting yet: it ran with its default budget"
        return config

    # --- one run --------------------------------------------------------------------------------------
    def measure(
        self,
        label: str,
        sim: SimulatorProcess,
        tap_config: dict[str, Any],
        target_config: dict[str, Any] | None,
        deadline: float,
        *,
        state: dict[str, Any] | None = None,
    ) -> Measured:
        """Run the real CLIs once (no target: the tap's output is counted and dropped) and measure it."""
        sim.reset_stats()
        sim_cpu = sim.cpu_seconds()
        workdir = WORK / label
        shutil.rmtree(workdir, ignore_errors=True)
        spec = runner.PipelineSpec(
            workdir=workdir,
            tap_config=tap_config,
            target_config=target_config,
            state=state,
            tap_command=runner.TAP_CLI,
            keep_messages=False,
            sample_memory=True,
            die_with_parent=True,
        )
        run = runner.start(spec)
        try:
            run.finish(timeout=max(deadline - time.monotonic(), 1))
        except runner.PipelineTimeoutError:
            raise BenchError(f"{label}: timed out (see --timeout); killed the tap and target") from None
        for which in ("target", "tap"):
            code = run.returncode(which)
            if code not in (0, None):
                path = workdir / f"{which}.stderr"
                raise BenchError(
                    f"{label}: {which} exited with {code}; last lines of its stderr "
                    f"({path.relative_to(ROOT)}):\n{tail(path)}"
                )
        if run.relay_error is not None:
            raise BenchError(f"{label}: could not pass the tap's output on: {run.relay_error}")
        if run.state is not None:
            (workdir / "state-out.json").write_text(json.dumps(run.state))
        cpu = dict(run.sampler.cpu) if run.sampler is not None else {}
        return Measured(
            wall=run.wall,
            tap_wall=run.tap_wall,
            records=run.record_count,
            records_by_stream=dict(run.records_by_stream),
            size_bytes=run.size_bytes,
            peak_tap=run.peak_rss("tap"),
            peak_target=run.peak_rss("target"),
            cpu={**cpu, "simulator": sim.cpu_seconds() - sim_cpu},
            state=run.state,
            stats=sim.stats(),
        )

    def ensure_baseline(self, deadline: float) -> tuple[str, dict[str, Any]]:
        """A sync of the seed portal to increment from; made quickly (no limits or latency) if none ran."""
        if self.baseline is None:
            log("untimed full sync first (latency and rate limits off): a state to increment from")
            sim = self.simulator("seed")
            sim.update_config(latency_ms=0, rate_limits_enabled=False)
            database = "bench_incremental"
            target = {"database_url": self.fresh_database(database)}
            result = self.measure("incremental-baseline", sim, self.tap_config(sim, "free"), target, deadline)
            if result.state is None:
                raise BenchError("the baseline full sync emitted no state: cannot run incremental scenarios")
            self.baseline = (database, result.state)
        return self.baseline

    def make_changes(self, sim: SimulatorProcess, count: int, sizes: dict[str, int]) -> dict[str, set[int]]:
        """Change ``count`` live objects through the control API (archived ones refuse and are skipped)."""
        rng = random.Random(20260101)
        stamp = time.strftime("%H%M%S")
        changed: dict[str, set[int]] = {}
        for object_type, (prop, wanted) in change_plan(sizes, count).items():
            ids = changed.setdefault(object_type, set())
            live = sim.live_ids(object_type)
            while len(ids) < wanted:
                object_id = rng.choice(live)
                if object_id not in ids and sim.update_object(
                    object_type, object_id, {prop: f"Bench {stamp} #{object_id}"}
                ):
                    ids.add(object_id)
        return changed

    # --- one scenario ---------------------------------------------------------------------------------
    def run_scenario(self, scenario: Scenario, row: Row) -> None:
        deadline = time.monotonic() + (self.args.timeout or scenario.timeout_s)
        preset = self.preset(scenario.portal)
        row.limits = dict(scenario.limits)
        row.rate_limited_run = bool(preset["rate_limits_enabled"])
        sim = self.simulator(scenario.portal)
        sizes = {t: int(preset[t]) for t in ("contacts", "deals", "calls")}
        outcome = Outcome(runs={}, sizes=sizes, earlier=self.results)
        if scenario.start == "synced":
            database, state = self.ensure_baseline(deadline)
            url: str | None = self.postgres().url(database)
        else:
            database, state, url = f"bench_{scenario.name.replace('-', '_')}", None, None
        sim.update_config(
            latency_ms=preset["latency_ms"], rate_limits_enabled=row.rate_limited_run, **scenario.limits
        )
        if scenario.changes:
            outcome.changed = self.make_changes(sim, scenario.changes, sizes)
        tap_config = self.tap_config(sim, scenario.tier, row)
        for name in scenario.passes:
            target = None
            if name == "pipeline":
                target = {"database_url": url or self.fresh_database(database)}
            label = scenario.name if name == scenario.passes[0] else f"{scenario.name}-{name}"
            result = self.measure(label, sim, tap_config, target, deadline, state=state)
            outcome.runs[name] = result
            if name == "pipeline" and scenario.portal == "seed" and result.state is not None:
                self.baseline = (database, result.state)
        row.result = self.results[scenario.name] = outcome.runs[scenario.passes[0]]
        if "pipeline" in outcome.runs:
            outcome.table_counts = self.table_counts(database)
        row.judge(scenario.check(row, outcome))

    def run(self, names: list[str]) -> int:
        for name in names:
            scenario = BY_NAME[name]
            row = Row(name, scenario.goal)
            self.rows.append(row)
            log(f"scenario {name}")
            try:
                self.run_scenario(scenario, row)
            except BenchError as exc:
                row.verdict, row.note = "ERROR", str(exc)
            except Exception as exc:  # noqa: BLE001  (one broken scenario must not hide the others)
                row.verdict, row.note = "ERROR", redact(f"{type(exc).__name__}: {exc}")
            print_row(row)
        return self.report()

    def report(self) -> int:
        table = markdown_table(self.rows, self.args.quick)
        print()
        print(table, flush=True)
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "results.md").write_text(table + "\n")
        rows = [row_json(row, self.args.quick) for row in self.rows]
        (WORK / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
        log(f"results saved in {(WORK / 'results.md').relative_to(ROOT)} and results.json")
        verdicts = {row.verdict for row in self.rows}
        return 2 if "ERROR" in verdicts else 1 if "FAIL" in verdicts else 0

    def close(self) -> None:
        for sim in list(self.simulators.values()):
            with contextlib.suppress(Exception):
                sim.stop()
        self.simulators.clear()
        stop_all()
        if self.pg is not None and not self.args.keep_postgres:
            with contextlib.suppress(Exception):
                self.pg.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Scenarios:\n" + (bench_scenarios.__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=f"default: all ({', '.join(NAMES)})")
    parser.add_argument("--quick", action="store_true", help="shrink portal sizes 10x (smoke run)")
    parser.add_argument(
        "--timeout", type=float, default=0, help="seconds per scenario (default 600; memory-300k 1800)"
    )
    parser.add_argument(
        "--keep-postgres",
        action="store_true",
        help="leave .data/bench-postgres running to inspect the databases",
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in NAMES]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    # Canonical order: full-free before what compares to it, incremental runs after a full sync.
    args.scenarios = [s for s in NAMES if s in args.scenarios] if args.scenarios else list(NAMES)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    bench = None
    try:
        bench = Bench(args)
        return bench.run(args.scenarios)
    except KeyboardInterrupt:
        log("interrupted: stopping the tap, target, simulator and PostgreSQL")
        if bench is not None and bench.rows:
            bench.report()
        return 130
    except BenchError as exc:
        log(str(exc))
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second ctrl-c must not interrupt the clean-up
        if bench is not None:
            bench.close()
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
