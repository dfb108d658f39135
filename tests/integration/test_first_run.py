"""First run of the demo project on a fresh clone (issue 14): the settings make the folders
they point to, so `manage.py migrate` works before anything created `var/`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT


def test_migrate_creates_the_database_and_media_folders(tmp_path: Path):
    var = tmp_path / "clone" / "var"  # nothing exists yet, as in a fresh clone
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "MEDIA_ROOT": str(var / "media"),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # migrate needs no Redis
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "unable to open database file" not in result.stderr
    assert (var / "db.sqlite3").stat().st_size > 0
    assert (var / "media").is_dir()
