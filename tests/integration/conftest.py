"""A real Celery worker against Redis and the PostgreSQL test database.

These tests run where CI provides PostgreSQL and Redis (`REDIS_URL` set); elsewhere they skip.
They use committed data (transactional tests), so they reload the reference data first.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from interventions.models import RuleSet
from interventions.rules import default_rules, validate_rules
from opd.services import organisations_load
from povertycase.celery import app
from regions.services import regions_load

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.redis)


@pytest.fixture
def real_services():
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL and Redis (REDIS_URL); CI runs it")


@pytest.fixture
def reference_data(real_services, transactional_db):
    regions_load()
    organisations_load()
    if not RuleSet.objects.exists():
        RuleSet.objects.create(
            version=1, name="Default", status="published", rules=validate_rules(default_rules())
        )


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


class Worker:
    """A `celery worker` process on the test database; start, kill and start again."""

    def __init__(self, pool: str = "solo", **env):
        self.pool = pool
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "povertycase.settings",
            **{k: str(v) for k, v in env.items()},
        }
        self.proc = None
        self.log = None

    def start(self, timeout: float = 40.0) -> None:
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 (our own command line)
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "povertycase",
                "worker",
                "--pool",
                self.pool,
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in Path(self.log.name).read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError("worker did not start:\n" + Path(self.log.name).read_text()[-3000:])

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log:
            Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def worker_factory(reference_data):
    app.control.purge()  # leftovers of earlier runs must not reach this worker
    workers = []

    def make(pool: str = "solo", **env) -> Worker:
        worker = Worker(pool, **env)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
