"""Run by the Dagster virtualenv's Python (not the project's): what the code location and the instance hold.

python dagster_probe.py schedules DEFINITIONS_FILE   -> each schedule: name, cron, job, its run config
python dagster_probe.py runs                         -> each run in $DAGSTER_HOME: id, job, status
"""

import json
import runpy
import sys

from dagster import DagsterInstance, build_schedule_context


def schedules(definitions_file: str) -> list[dict]:
    defs = runpy.run_path(definitions_file)["defs"]
    found = []
    for schedule in defs.schedules:
        (request,) = schedule.evaluate_tick(build_schedule_context()).run_requests
        found.append(
            {
                "name": schedule.name,
                "cron": schedule.cron_schedule,
                "job": schedule.job_name,
                "run_config": request.run_config,
            }
        )
    return found


def runs() -> list[dict]:
    instance = DagsterInstance.get()
    return [
        {"run_id": run.run_id, "job": run.job_name, "status": run.status.value} for run in instance.get_runs()
    ]


if __name__ == "__main__":
    print(json.dumps(schedules(sys.argv[2]) if sys.argv[1] == "schedules" else runs()))
