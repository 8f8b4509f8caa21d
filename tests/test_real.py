"""The real two-year cube (`../shared/data/real_conus_west`: real SMAP L3 with NLDAS-2 forcing,
hydroDL demo data, non-commercial licence: read from there, never copied). A lazily opened cube
that carries air temperature passes the door and the WBM calibration as a user runs it, and a
short pipeline on it beats linear interpolation on the withheld SMAP days with a calibrated 90%
interval. Skipped, with the reason, where the folder is absent."""

import numpy as np
import pytest

from helpers import cli
from smap_hybrid.config import ExperimentConfig, SplitConfig, TrainConfig, WBMConfig
from smap_hybrid.cube import load_cube
from smap_hybrid.experiment import run_experiment

# small settings: the test is about the pipeline on real data, under two minutes on 2 cores
SHORT = TrainConfig(scale=16, hidden=(8, 8), epochs=8, batches_per_epoch=6, val_batches=1)


@pytest.fixture(scope="module")
def real(samples):
    p = samples / "real_conus_west" / "cube.nc"
    if not p.exists():
        pytest.skip(f"the real two-year cube is not in {p.parent}")
    return p


def test_a_lazy_cube_with_air_temperature_passes_the_door(real, tmp_path):
    cube = load_cube(real, ("sm", "precip", "pet"))  # lazy: dask arrays, latitude included
    assert "tair" in cube and cube.pet.chunks is not None
    land = cube.land.values
    pet = cube.pet.values[:, land]
    assert np.isfinite(pet).all() and pet.min() >= 0 and pet.max() < 15, "Hamon PET in mm/day"
    r = cli("wbm", "calibrate", real, "--out", tmp_path / "cube_wbm.nc", "--wbm-iters", "5")
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_short_run_beats_linear_interpolation_with_calibrated_intervals(real, tmp_path):
    cfg = ExperimentConfig(split=SplitConfig(outage="auto"), wbm=WBMConfig(wbm_iters=20),
                           train=SHORT)
    m = run_experiment(cfg, real, tmp_path / "exp", device="cpu")
    rows = {r["estimator"]: r for r in m["table"] if r["reference"] == "withheld SMAP days"}
    hyb, li = rows["hybrid"], rows["linear interpolation"]
    print({k: round(hyb[k], 4) for k in ("ubRMSE_px", "ubRMSE", "R_px", "coverage90")},
          "linear interpolation", round(li["ubRMSE_px"], 4), round(li["ubRMSE"], 4))
    assert hyb["ubRMSE_px"] < li["ubRMSE_px"]  # the median pixel's ubRMSE (chapter 16)
    assert 0.85 <= hyb["coverage90"] <= 0.95
