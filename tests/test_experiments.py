"""The experiment batch as users run it: their own cube, papermill runs, an interrupted batch
continued (a failed run recorded and the batch going on: chapter 19)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from helpers import cli, flags, kill_when
from smap_hybrid.twin import TwinConfig, make_twin

TINY = dict(
    epochs=1, batches_per_epoch=2, batch=2, seq_len=20, hidden=[4, 4], wbm_iters=3, val_batches=1,
    members=1,
)


@pytest.fixture(scope="module")
def user_cube(tmp_path_factory):
    """A user's own cube: (time, lat, lon) on a regular 0.25° grid, air temperature instead of PET,
    no land mask, -9999 fills."""
    t = make_twin(TwinConfig(rows=12, cols=12, days=200, seed=5))
    lat, lon = 35 + 0.25 * np.arange(12), -100 + 0.25 * np.arange(12)
    ds = xr.Dataset(
        {
            "sm": (("time", "lat", "lon"), t.sm.fillna(-9999).values),
            "precip": (("time", "lat", "lon"), t.precip.values),
            "tair": (("time", "lat", "lon"), t.tair.values),
        },
        coords=dict(time=t.time.values, lat=lat, lon=lon),
    )
    path = tmp_path_factory.mktemp("user") / "my_cube.nc"
    ds.to_netcdf(path)
    return path


def test_cli_runs_the_comparison_on_a_users_cube_and_continues_after_a_kill(user_cube, tmp_path):
    cmd = ["experiments", "--data", user_cube, "--out", tmp_path, "--scales", "16", "--loops",
           "closed,open", "--models", "hybrid", *flags(**TINY)]
    kill_when(cmd, tmp_path / "runs" / "hybrid_16px_closed_seed0" / "metrics.json")
    r = cli(*cmd, timeout=400)  # the second run was cut short by the kill
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        "hybrid_16px_closed_seed0: done, skipped" in r.stdout
        and "hybrid_16px_open_seed0: done in" in r.stdout
    )
    res = pd.read_csv(tmp_path / "results.csv")
    assert (
        set(res.run) == {"hybrid_16px_closed_seed0", "hybrid_16px_open_seed0"}
        and "DCT-PLS" in r.stdout
    )
    prod = xr.open_dataset(tmp_path / "runs" / "hybrid_16px_open_seed0" / "product.nc")
    assert (
        prod.attrs["loop_mode"] == "open"
        and int(prod.sm.notnull().sum()) == int(prod.land.sum()) * prod.sizes["time"]
    )
