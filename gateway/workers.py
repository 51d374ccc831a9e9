"""`dibao serve --workers N`: N server processes on one socket, and what they share.

Shared through the database, so correct with any number of processes: the audit
chain (each append moves the head only from where it was, else retries), the
policy (a version polled every second), credentials (re-read within a second,
see gateway/auth.py), and the key file (watched by each process).

Counted in each process's memory: rate limits and lookup quotas. Each of N
workers gets 1/N of every limit, so a credential never gets more than the
configured total across them; a client whose connections all land on one
worker gets less than the total, never more.
"""

from __future__ import annotations

import dataclasses
import gc

from starlette.applications import Starlette

from gateway.config import Settings, load_settings
from gateway.quota import Quota
from gateway.ratelimit import Rate

WORKERS_ENV = "DIBAO_SERVE_WORKERS"  # set by `dibao serve` for its workers


def per_worker(settings: Settings, workers: int) -> Settings:
    if workers <= 1:
        return settings
    return dataclasses.replace(
        settings,
        rate_limits={
            role: Rate(rate.per_second / workers, max(1.0, rate.burst / workers))
            for role, rate in settings.rate_limits.items()
        },
        lookup_quotas={
            role: Quota(max(1, quota.per_minute // workers), max(1, quota.per_day // workers))
            for role, quota in settings.lookup_quotas.items()
        },
    )


def ready(app: Starlette) -> Starlette:
    """After start-up: what exists now (schema, policy tables, compiled plans' code)
    lives as long as the process, so the collector need not walk it again and again."""
    gc.collect()
    gc.freeze()
    return app


def worker_app() -> Starlette:
    """The application of one worker process (uvicorn calls it in each)."""
    from gateway import logs
    from gateway.app import create_app

    settings = load_settings()
    logs.configure(settings.log_format)  # a spawned process: the parent's set-up is not here
    return ready(create_app(per_worker(settings, settings.serve_workers)))
