"""The ``batch/v1`` kinds and their strategies: Job and CronJob.

Defaulting and validation live in :mod:`batch_rules`, the columns in
:mod:`batch_columns`; the controllers that run them are
``shoal.plugins.controllers.job`` and ``.cronjob``.
"""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.api.v1 import batch_pb2
from shoal.kinds import Kind
from shoal.plugins.kinds import batch_columns, batch_rules
from shoal.plugins.kinds._register import kind, register_all
from shoal.plugins.kinds.core import ALL
from shoal.registry import Registry
from shoal.strategy import Causes, Strategy


class JobStrategy(Strategy):
    categories = ALL
    table = batch_columns.JOB
    reset_status_on_create = True

    def prepare_for_create(self, obj: Any) -> None:
        batch_rules.generate_selector(obj)

    def default(self, obj: Any) -> None:
        batch_rules.default_job(obj)

    def validate(self, obj: Any) -> Causes:
        return batch_rules.validate_job(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return batch_rules.validate_job_update(old, new)


class CronJobStrategy(Strategy):
    categories = ALL
    table = batch_columns.CRON_JOB
    reset_status_on_create = True

    def default(self, obj: Any) -> None:
        batch_rules.default_cron_job(obj)

    def validate(self, obj: Any) -> Causes:
        return batch_rules.validate_cron_job(obj)


KINDS: tuple[Kind, ...] = (
    kind("Job", "batch/v1", batch_pb2.Job, strategy=JobStrategy(), has_status=True),
    kind(
        "CronJob",
        "batch/v1",
        batch_pb2.CronJob,
        ("cj",),
        strategy=CronJobStrategy(),
        has_status=True,
    ),
)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, *KINDS)
