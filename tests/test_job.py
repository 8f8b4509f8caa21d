"""`smap-hybrid run` as a user runs it, offline: SPL3SMP granules in the v9 layout and IMERG /
MERRA-2 forcing granules in their real layouts are in the job's folder, so the download stage
sends nothing and every later stage runs; a kill mid-training resumes; the product is a zarr
store; a second job in the same folder is refused; no login is a clear error."""

import os
import time

import numpy as np
import pytest
import xarray as xr

from helpers import cli, flags, kill_when
from smap_hybrid.twin import TwinConfig, make_twin, write_twin_granules

SMALL = flags(scale=16, epochs=3, batches_per_epoch=3, batch=4, seq_len=30, hidden=(8, 8),
              val_batches=1, wbm_iters=10, days=60)


def job(d, bbox, end="2019-08-28"):
    "The arguments of `smap-hybrid run` for the job folder `d`."
    return ["run", "--out", d, "--bbox", *bbox, "--start", "2019-04-01", "--end", end, *SMALL,
            "--product-file", "product.zarr"]


@pytest.fixture(scope="module")
def job_dir(dmr, tmp_path_factory):
    "A job folder holding 150 days of a twin as real-layout granules (SMAP v9, IMERG, MERRA-2)."
    twin = make_twin(TwinConfig(rows=20, cols=20, days=150, start="2019-04-01"))
    d = tmp_path_factory.mktemp("job")
    write_twin_granules(twin, d, dmr)
    bbox = [
        float(twin.lon.min()),
        float(twin.lat.min()),
        float(twin.lon.max()),
        float(twin.lat.max()),
    ]
    return d, bbox


def test_run_completes_offline_resumes_after_a_kill_and_writes_the_product(job_dir):
    d, bbox = job_dir
    env = dict(os.environ, OMP_NUM_THREADS="1")
    kill_when(job(d, bbox), d / "run" / "member_0" / "checkpoint.pt", env=env)
    assert not (d / "product.zarr").exists()
    t0 = time.perf_counter()
    r = cli(*job(d, bbox), check=True, env=env)
    print(f"the resumed job took {time.perf_counter() - t0:.0f} s")
    out = r.stdout
    assert "[1/7] download: skipped, every granule is there" in out
    assert "[2/7] ingest + forcing: skipped" in out and "[3/7] split + WBM: skipped" in out
    assert "resuming" in out and "scores on the withheld test days" in out and "hybrid" in out
    prod = xr.open_zarr(d / "product.zarr")
    land = prod.land.values == 1
    assert prod.sizes["time"] == 150 and np.isfinite(prod.sm.values[:, land]).all()
    assert prod.attrs["observations_fed"] == "all" and prod.attrs["spread_calibrated"] == "yes"
    assert (d / "job.toml").exists() and (d / "validation" / "scores.csv").exists()
    assert {f.name for f in (d / "figures").iterdir()} == {
        "pixel_series.png",
        "sm_std_map.png",
        "skill_vs_gap.png",
    }
    again = cli(*job(d, bbox), env=env)  # everything done: all skipped
    assert again.returncode == 0 and "[6/7] product: skipped, product.zarr" in again.stdout


def test_another_job_in_the_same_folder_is_refused(job_dir):
    d, bbox = job_dir
    if not (d / "job.toml").exists():
        pytest.skip("needs the job of the previous test")
    r = cli(*job(d, bbox, end="2019-06-30"), timeout=120)
    assert r.returncode == 1 and "holds another job" in r.stderr and "Traceback" not in r.stderr


def test_run_without_granules_or_login_stops_before_any_request(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARTHDATA_")}
    env["HOME"] = str(tmp_path)  # no ~/.netrc
    r = cli("run", "--out", tmp_path / "job", "--bbox", -100, 35, -95, 40, "--start",
            "2019-04-01", "--end", "2019-04-30", env=env, timeout=120)
    assert (
        r.returncode == 1 and "no NASA Earthdata login" in r.stderr and "Traceback" not in r.stderr
    )
    assert "[1/7] download: lacking 30 SPL3SMP, 31 GPM_3IMERGDF, 31 M2SDNXSLV" in r.stdout


def test_a_9km_job_makes_a_product_on_the_9km_grid(dmr, tmp_path):
    "SPL3SMP_E: the same job on the 9 km grid, from granules of the v9 layout moved to 9 km."
    pytest.importorskip("rioxarray")
    from smap_hybrid.grid import EASE2_9KM, grid_of

    twin = make_twin(TwinConfig(rows=16, cols=16, days=100, start="2019-04-01",
                                product="SPL3SMP_E"))
    write_twin_granules(twin, tmp_path, dmr)   # ingest skips days no pass crossed these cells
    assert len(list((tmp_path / "smap").glob("SMAP_L3_SM_P_E_2019*_R19240_001.h5"))) == 100
    bbox = [float(twin.lon.min()), float(twin.lat.min()), float(twin.lon.max()),
            float(twin.lat.max())]
    t0 = time.perf_counter()
    cli("run", "--out", tmp_path, "--bbox", *bbox, "--start", "2019-04-01", "--end",
        "2019-07-09", *SMALL, "--product", "SPL3SMP_E", check=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"))
    print(f"the 9 km job (16 x 16 cells, 100 days) took {time.perf_counter() - t0:.0f} s")
    cube = xr.open_dataset(tmp_path / "cube.nc")
    assert cube.attrs["smap_product"] == "SPL3SMP_E" and cube.attrs["grid"].endswith("9 km")
    cli("ingest", tmp_path / "smap", "--product", "SPL3SMP_E", "--bbox", *bbox, "--forcing",
        tmp_path / "forcing", "--out", tmp_path / "ingested.nc", check=True)   # the stage alone
    xr.testing.assert_equal(xr.open_dataset(tmp_path / "ingested.nc").sm, cube.sm)
    prod = xr.open_dataset(tmp_path / "product.nc", decode_coords="all")
    assert grid_of(prod) == EASE2_9KM and prod.sizes == cube.sizes and prod.sizes["x"] >= 15
    assert set(prod.row.values) <= set(twin.row.values)
    t = prod.sm.rio.transform()
    assert t.a == pytest.approx(EASE2_9KM.cell) and t.e == pytest.approx(-EASE2_9KM.cell)
    assert prod.sm.rio.crs.to_epsg() == 6933
    assert np.isfinite(prod.sm.values[:, prod.land.values == 1]).all()
