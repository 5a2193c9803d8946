"""A killed worker's work is finished within minutes: the broker hands its task back soon, never a
running one, and no task waits in the broker longer than that (ETAs, countdowns, retry backoffs)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import crontab

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["common", "config", "deliveries", "demo", "embed", "merchants", "notifications", "pickups", "webhooks"]

READ_BROKER = """
import json, django
django.setup()
from django.conf import settings
from config.celery import app
print(json.dumps({"options": settings.CELERY_BROKER_TRANSPORT_OPTIONS, "time_limit": app.conf.task_time_limit}))
"""


def broker_settings(**env) -> dict:
    """The settings a worker on Redis starts with (read in a fresh process: they are computed at import)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings.base", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9"}
    result = subprocess.run(
        [sys.executable, "-c", READ_BROKER], cwd=ROOT, env=environment | env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def visibility_timeout() -> int:
    return broker_settings()["options"]["visibility_timeout"]


def test_a_killed_workers_task_is_handed_back_within_minutes_and_never_while_it_runs():
    read = broker_settings()
    options = read["options"]

    # redelivered at most the visibility timeout plus one scan after the worker took it
    assert (
        options["visibility_timeout"] + options["unacked_restore_interval"] * options["unacked_restore_throttle"]
        <= 6 * 60
    )
    # while a task may still run (its hard time limit), it is not handed to a second worker
    assert read["time_limit"] < options["visibility_timeout"]


def test_the_visibility_timeout_comes_from_the_environment():
    assert broker_settings(CELERY_VISIBILITY_TIMEOUT="600")["options"]["visibility_timeout"] == 600


def test_no_task_runs_or_waits_to_retry_longer_than_the_visibility_timeout(visibility_timeout):
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert len(ours) > 10  # the apps' tasks were discovered

    for task in ours:
        assert (task.time_limit or app.conf.task_time_limit) < visibility_timeout, task.name
        assert task.default_retry_delay < visibility_timeout, task.name  # should it ever call self.retry()
        if getattr(task, "autoretry_for", ()):
            assert task.retry_backoff_max < visibility_timeout, task.name
            assert task.retry_kwargs.get("countdown", 0) < visibility_timeout, task.name


def test_no_beat_entry_or_code_sends_a_task_for_later_than_the_visibility_timeout(visibility_timeout):
    for name, entry in app.conf.beat_schedule.items():
        options = entry.get("options", {})
        assert "eta" not in options, name
        assert options.get("countdown", 0) < visibility_timeout, name

    for path, call in calls_with_delays():
        where = f"{path}:{call.lineno}"
        for keyword in call.keywords:
            # an ETA cannot be checked here: schedule from the database instead (a row with its due time, a sweep)
            assert keyword.arg != "eta", where
            if keyword.arg == "countdown":
                assert isinstance(keyword.value, ast.Constant), f"{where}: a countdown this test cannot read"
                assert keyword.value.value < visibility_timeout, where


def test_the_sweeps_that_finish_a_killed_workers_work_run_every_minute():
    every_minute = crontab(minute="*")
    for name in (
        "notifications-resend-stuck",
        "webhooks-resend-due-deliveries",
        "pickups-assign-ready-orders",
        "pickups-tell-untold-customers",
        "pickups-resume-stuck-imports",
        "pickups-resume-stuck-bulk-actions",
        "deliveries-offer-windows",
    ):
        assert app.conf.beat_schedule[name]["schedule"] == every_minute, name


def calls_with_delays():
    """(path, call) for every call in the project's code that passes `countdown` or `eta` (apply_async, retry...)."""
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and any(k.arg in ("countdown", "eta") for k in node.keywords):
                    yield path.relative_to(ROOT), node
