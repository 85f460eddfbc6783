"""Each worker of `serve --workers N` holds outbox leases under a name of its own."""

from __future__ import annotations

import os
from pathlib import Path

from activity.devtools.jb import test_settings
from activity.ops.workers import default_workers, worker_settings


def test_sqlite_workers_get_fixed_distinct_names(tmp_path: Path) -> None:
    settings = test_settings(tmp_path)
    assert settings.delivery_owner == "local"
    names = [worker_settings(settings, i).delivery_owner for i in range(3)]
    # Fixed: a restarted worker resumes its own leases at once. Distinct: none hands back
    # another's work.
    assert names == ["local-w0", "local-w1", "local-w2"]
    assert names == [worker_settings(settings, i).delivery_owner for i in range(3)]


def test_a_named_instance_names_its_workers_after_itself(tmp_path: Path) -> None:
    settings = test_settings(tmp_path, instance_id="eu-1")
    assert worker_settings(settings, 1).delivery_owner == "eu-1-w1"


def test_unnamed_postgres_workers_are_named_by_host_and_pid(tmp_path: Path) -> None:
    settings = test_settings(tmp_path, database_url="postgresql://127.0.0.1/activity")
    assert worker_settings(settings, 0) == settings  # host-pid, unique per process already


def test_one_worker_per_cpu_by_default_on_both_backends() -> None:
    assert default_workers() == (os.cpu_count() or 1)
