"""`imagegen_train gan --nproc 2`: two spawned processes (gloo on CPU) train one run; rank 0
alone writes the row, checkpoint, samples and weights, and the run matches a one-process run."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from django.core.management import CommandError, call_command

from imagegen.training.models import TrainingRun

from ..conftest import database_url
from .test_training import make_catalogue

TINY = {"size": 32, "batch": 4, "base_channels": 4, "log_every": 1, "device": "cpu", "conditional": True, "seed": 5}


@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_two_processes_train_a_run_like_one(monkeypatch):
    from django.db import connection

    # The spawned processes set Django up from the environment: point them at the test database.
    monkeypatch.setenv("DATABASE_URL", database_url(connection.settings_dict))
    make_catalogue(6)
    out = io.StringIO()
    call_command("imagegen_train", "gan", steps=3, nproc=2, stdout=out, **TINY)
    double = TrainingRun.objects.order_by("-id").first()
    assert double.status == TrainingRun.Status.DONE and double.step == 3, double.error
    assert double.device_used == "cpu fp32 x2 processes" and "on 2 processes" in out.getvalue()
    for field in (double.checkpoint, double.weights, double.samples):
        assert field.storage.exists(field.name)
    assert TrainingRun.objects.count() == 1  # the other rank wrote nothing

    torch.set_num_threads(1)
    call_command("imagegen_train", "gan", steps=3, stdout=io.StringIO(), **TINY)
    single = TrainingRun.objects.order_by("-id").first()
    assert [h["step"] for h in double.history] == [1, 2, 3]
    for a, b in zip(double.history, single.history):
        for key in b:
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-4), key


@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_torchrun_launch_trains_one_run():
    """torchrun starts the command twice; rank 0 makes the run, both train it."""
    from django.db import connection

    make_catalogue(6)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(connection.settings_dict), "OMP_NUM_THREADS": "1"}
    args = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items() if k != "conditional"]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--standalone",
         str(root / "manage.py"), "imagegen_train", "gan", "--steps=2", "--conditional", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=170,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    run = TrainingRun.objects.get()  # one row, made by rank 0
    assert run.status == TrainingRun.Status.DONE and run.step == 2 and run.device_used == "cpu fp32 x2 processes"
    assert proc.stdout.count("done: 2 steps") == 1  # rank 0 reports; rank 1 trains quietly


@pytest.mark.django_db
def test_nproc_is_for_gan_runs_here():
    with pytest.raises(CommandError, match="gan runs only"):
        call_command("imagegen_train", "enhance", nproc=2, stdout=io.StringIO())
    with pytest.raises(CommandError, match="one worker"):
        call_command("imagegen_train", "gan", nproc=2, queue=True, stdout=io.StringIO())
