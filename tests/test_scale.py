"""Scale: dask work on a dask.distributed cluster gives the serial result; torchrun trains one model
data-parallel."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import xarray as xr

from helpers import flags

from smap_hybrid.cube import write_cube
from smap_hybrid.data import open_cube
from smap_hybrid.twin import TwinConfig, make_twin
from smap_hybrid.config import WBMConfig
from smap_hybrid.wbm import calibrate, fit_wbm, run_wbm

BIN = Path(sys.executable).parent


def test_local_cluster_gives_the_serial_result(make_v9, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="the 'cluster' extra (dask.distributed) is not installed"
    )
    for i, day in enumerate(("20190601", "20190602", "20190604")):
        make_v9(day, i)
    bbox = (-105, 30, -85, 45)
    twin = make_twin(TwinConfig(rows=16, cols=20, days=120))
    params = calibrate(twin, iters=3).params
    serial_cube = open_cube(tmp_path, bbox=bbox).compute()
    serial_wbm = run_wbm(twin, params, closed=True)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        cube = open_cube(tmp_path, bbox=bbox).compute()  # granules read and QC'd on the workers
        wbm = run_wbm(
            twin.chunk({"y": 8, "x": 10}), params.chunk({"y": 8, "x": 10}), closed=True
        ).compute()
    for c in (cube, serial_cube):
        c.attrs.pop("history")  # when it ran
    xr.testing.assert_identical(cube, serial_cube)
    xr.testing.assert_identical(wbm, serial_wbm)


def test_torchrun_trains_one_model_on_two_processes(tmp_path):
    cube = make_twin(TwinConfig(rows=16, cols=16, days=200, seed=2))
    write_cube(fit_wbm(cube, WBMConfig(wbm_iters=3)), tmp_path / "cube.nc")
    cmd = [
        BIN / "torchrun",
        "--standalone",
        "--nproc_per_node",
        "2",
        BIN / "smap-hybrid",
        "train",
        tmp_path / "cube.nc",
        "--out",
        tmp_path / "run",
        *flags(scale=16, epochs=2, batches_per_epoch=2, seq_len=20, hidden=4, val_batches=1,
               device="cpu"),
        "--no-calibrate",
    ]
    r = subprocess.run(
        list(map(str, cmd)),
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "(2 processes)" in r.stdout and "2 epochs" in r.stdout
    assert (
        sum(line.startswith("run ") for line in r.stdout.splitlines()) == 1
    )  # rank 0 reports, once
    s = json.loads((tmp_path / "run" / "run.json").read_text())
    assert s["members"][0]["world_size"] == 2 and len(s["members"][0]["history"]) == 2
    w = torch.load(tmp_path / "run" / "member_0" / "model.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in w.values())
