"""Dagster code location for this Meltano project: each Meltano job a Dagster job, each Meltano schedule a
Dagster schedule (README "Orchestrating with Dagster").

    dagster dev -f orchestrate/dagster/definitions.py          # UI, schedules and runs on one machine

Built on dagster-meltano, Meltano's Dagster integration: its resource runs the `meltano` CLI in the project
and reads the jobs and schedules from it. Its own job factory (`load_jobs_from_meltano_project`) is not used
as it is, for three reasons: its runs pass `--force`, so a slow run and the next one of the same portal could
overlap and race on one state; its schedules drop a schedule's `env`, so the weekly full refresh would run as
an incremental one; and it sets no `MELTANO_RUN_ID`. Here each `meltano run` gets the Dagster run's id as its
`MELTANO_RUN_ID`, so Dagster's runs, Meltano's `runs` and `sync_logs.meltano_run_id` share one id.

Environment: MELTANO_PROJECT_ROOT (default: this checkout), MELTANO_ENVIRONMENT (default: prod), and `meltano`
on PATH (the project's .venv/bin). Secrets come from the project's `.env`, as for cron.
"""

# No `from __future__ import annotations`: Dagster reads the op's `context` annotation at definition time.
import os
import uuid
from pathlib import Path
from typing import Any

from dagster import (
    DefaultScheduleStatus,
    Definitions,
    Field,
    In,
    JobDefinition,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)
from dagster_meltano import meltano_resource
from dagster_meltano.meltano_resource import MeltanoResource

PROJECT_DIR = os.environ.get("MELTANO_PROJECT_ROOT") or str(Path(__file__).resolve().parents[2])
MELTANO_ENVIRONMENT = os.environ.get("MELTANO_ENVIRONMENT", "prod")
# Runs of one Meltano job queue behind each other with the run coordinator in dagster.yaml.
JOB_TAG = "meltano/job"


def dagster_name(meltano_name: str) -> str:
    """Dagster names allow letters, digits and underscores only."""
    return "".join(c if c.isalnum() else "_" for c in meltano_name)


def run_task_op(job_name: str, index: int, task: str) -> OpDefinition:
    """An op that runs one task of a Meltano job (`meltano run <task>`), without `--force`: Meltano refuses
    to start a second run of a state ID that is still running."""

    @op(
        name=f"{dagster_name(job_name)}_task_{index}",
        description=f"meltano --environment={MELTANO_ENVIRONMENT} run {task}",
        ins={"after": In(Nothing)},
        required_resource_keys={"meltano"},
        config_schema={"env": Field(dict, default_value={}, is_required=False)},
        tags={"kind": "meltano"},
    )
    def run_task(context: OpExecutionContext) -> None:
        # One Meltano run per task: the first gets the Dagster run id, later ones an id derived from it.
        run_id = context.run_id if index == 0 else str(uuid.uuid5(uuid.UUID(context.run_id), str(index)))
        env = {**context.op_config["env"], "MELTANO_RUN_ID": run_id}
        command = f"--environment={MELTANO_ENVIRONMENT} run {task}"
        context.resources.meltano.execute_command(command, env, context.log)

    return run_task


def dagster_job(meltano_job: dict[str, Any]) -> JobDefinition:
    """The Meltano job's tasks, one after another (as `meltano run <job>` runs them)."""
    name = meltano_job["job_name"]
    ops = [run_task_op(name, index, task) for index, task in enumerate(meltano_job["tasks"])]

    @job(
        name=dagster_name(name),
        description=f"Meltano job {name}",
        resource_defs={"meltano": meltano_resource.configured({"project_dir": PROJECT_DIR})},
        tags={JOB_TAG: name},
    )
    def run_meltano_job() -> None:
        previous = None
        for task_op in ops:
            previous = task_op(previous) if previous is not None else task_op()

    return run_meltano_job


def dagster_schedule(meltano_schedule: dict[str, Any], jobs: dict[str, JobDefinition]) -> ScheduleDefinition:
    """The schedule's cron interval and its `env` (e.g. MELTANO_RUN_FULL_REFRESH) for every task."""
    target = jobs[meltano_schedule["job"]["name"]]
    env = dict(meltano_schedule.get("env") or {})
    return ScheduleDefinition(
        name=dagster_name(meltano_schedule["name"]),
        cron_schedule=meltano_schedule["cron_interval"],
        job=target,
        run_config={"ops": {node.name: {"config": {"env": env}} for node in target.nodes}},
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
    )


def definitions() -> Definitions:
    project = MeltanoResource(project_dir=PROJECT_DIR).meltano_yaml  # `meltano job list`, `schedule list`
    jobs = {meltano_job["job_name"]: dagster_job(meltano_job) for meltano_job in project["jobs"]}
    schedules = [dagster_schedule(schedule, jobs) for schedule in project["schedules"]["job"]]
    return Definitions(jobs=list(jobs.values()), schedules=schedules)


defs = definitions()
