"""Jobs and CronJobs in a simulation follow the virtual clock: a schedule
fires and a deadline passes in simulated time, not in the few wall seconds the
simulation takes."""

from __future__ import annotations

import pytest
from shoal.plugins.simulate import runner
from shoal.plugins.simulate.scenario import Simulation, add_documents, hollow_nodes

# A whole multiple of 300 s plus one minute: the `*/5` schedule fires 4 min
# into the run and every 5 min after, so 6 times in 30 min and the last one
# a minute before the end (time zones are offset by whole multiples of 5 min).
EPOCH = 1_800_000_000 + 60

CRONJOB = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  successfulJobsHistoryLimit: 10  # keep every Job to count them
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: tick, image: shoal.local/busybox, command: [sh, -c, "sleep 10"]}
"""

DEADLINE_JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  activeDeadlineSeconds: 120
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: slow, image: shoal.local/busybox, command: [sh, -c, "sleep 600"]}
"""


@pytest.mark.timeout(600)  # a safety net only; nothing here is timed
def test_a_cronjob_every_5_minutes_runs_6_jobs_in_30_simulated_minutes() -> None:
    sim = Simulation(nodes=hollow_nodes(2), duration=1800)
    add_documents(sim, CRONJOB, "cronjob.yaml")
    report = runner.run(sim, epoch=EPOCH).as_dict()
    jobs = report["jobs"]
    assert len(jobs) == 6, jobs
    assert all(j["name"].startswith("tick-") for j in jobs)
    assert all(j["status"] == "Complete" for j in jobs), jobs


@pytest.mark.timeout(600)
def test_a_job_past_its_active_deadline_fails_in_simulated_time() -> None:
    sim = Simulation(nodes=hollow_nodes(1), duration=300)
    add_documents(sim, DEADLINE_JOB, "job.yaml")
    report = runner.run(sim).as_dict()
    assert report["jobs"] == [
        {"namespace": "default", "name": "slow", "status": "Failed", "reason": "DeadlineExceeded"}
    ]
