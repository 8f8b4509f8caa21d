"""The `smap-hybrid` console script, run as a user runs it (a subprocess)."""

import numpy as np
import pytest
import xarray as xr

from helpers import cli, grid_shape, lonlat_forcing

NORTH_AMERICA = ("--bbox", -125, 25, -67, 50)


def run(*args, cwd=None):
    return cli(*args, cwd=cwd, timeout=300)


def test_help_lists_every_stage():
    r = run("--help")
    assert r.returncode == 0
    for stage in (
        "run",
        "demo",
        "twin",
        "ingest",
        "download",
        "wbm",
        "train",
        "reconstruct",
        "validate",
        "experiments",
    ):
        assert stage in r.stdout
    r = run("ingest", "--help")
    assert r.returncode == 0 and all(
        f in r.stdout for f in ("--bbox", "--overpass", "--on-error", "--forcing", "--product")
    )
    r = run("train", "--help")  # every setting a flag named as its field, with its default
    assert (
        "--batches-per-epoch" in r.stdout and "--members" in r.stdout and "(default: 8)" in r.stdout
    )


def test_version():
    import smap_hybrid

    assert run("--version").stdout.strip() == f"smap_hybrid {smap_hybrid.__version__}"


def test_twin_writes_a_cube(tmp_path):
    r = run(
        "twin",
        "--out",
        tmp_path / "t.nc",
        "--days",
        "60",
        "--rows",
        "10",
        "--cols",
        "12",
        "--seed",
        "3",
    )
    assert r.returncode == 0, r.stderr
    assert "gaps" in r.stdout and "not real SMAP" in r.stdout
    ds = xr.open_dataset(tmp_path / "t.nc")
    assert dict(ds.sizes) == {"time": 60, "y": 10, "x": 12}
    assert {"sm", "sm_raw", "sm_true", "precip", "pet", "qc_reason", "land", "crs"} <= set(
        ds.variables
    )


def test_ingest_real_granules_prints_gap_statistics(v3_files, tmp_path):
    r = run("ingest", *v3_files, "--out", tmp_path / "cube.nc", "--bbox", -125, 25, -65, 50)
    assert r.returncode == 0, r.stderr
    assert "2 granules used, 0 skipped" in r.stdout and "% before QC" in r.stdout
    ds = xr.open_dataset(tmp_path / "cube.nc")
    assert ds.sizes["time"] == 2 and ds.sizes["y"] < 406


def test_ingest_bad_input_is_one_clear_line(tmp_path):
    (tmp_path / "SMAP_L3_SM_P_20190601_R19240_001.h5").write_bytes(b"not hdf5 at all")
    r = run("ingest", tmp_path, "--out", tmp_path / "c.nc")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "no usable granule" in r.stderr and "not a readable HDF5" in r.stderr
    r = run("ingest", tmp_path / "empty_dir_does_not_exist", "--out", tmp_path / "c.nc")
    assert r.returncode == 1 and "no such file or directory" in r.stderr


def test_download_argument_errors_need_no_network(tmp_path):
    r = run("download", "--start", "2019-07-01", "--end", "2019-06-01", "--out", tmp_path)
    assert r.returncode == 1 and "before start" in r.stderr
    r = run(
        "download",
        "--start",
        "2019-06-01",
        "--end",
        "2019-06-02",
        "--bbox",
        10,
        0,
        5,
        1,
        "--out",
        tmp_path,
    )
    assert r.returncode == 1 and "bbox" in r.stderr


def test_experiments_refuses_a_bad_grid_before_running(tmp_path):
    r = run("experiments", "--out", tmp_path, "--loops", "closed,sideways")
    assert r.returncode == 1 and "sideways" in r.stderr and not (tmp_path / "runs").exists()
    r = run("experiments", "--out", tmp_path, "--scales", "16,big")
    assert r.returncode == 2 and "comma-separated list of int" in r.stderr


def test_wbm_calibrate_adds_series_and_residual(tmp_path):
    assert (
        run(
            "twin", "--out", tmp_path / "t.nc", "--days", "90", "--rows", "8", "--cols", "8"
        ).returncode
        == 0
    )
    r = run("wbm", "calibrate", tmp_path / "t.nc", "--out", tmp_path / "w.nc", "--wbm-iters", "5")
    assert r.returncode == 0, r.stderr
    assert "split:" in r.stdout and "validation" in r.stdout and "not real-world skill" in r.stdout
    ds = xr.open_dataset(tmp_path / "w.nc")
    assert {"wbm", "wbm_closed", "residual", "wbm_dz", "wbm_beta", "split"} <= set(ds.variables)
    land = ds.land == 1
    assert not bool((ds.wbm.isnull() & land).any()), "the WBM is gap-free on land"


def test_ingest_real_granules_with_a_forcing_file_then_calibrate(v3_files, tmp_path):
    """Real SPL3SMP v3 granules + a user's regular lat/lon forcing file covering those days: gap-
    free forcing."""
    rng, shape = np.random.default_rng(0), (3, *grid_shape(0.25))
    f = lonlat_forcing(tmp_path / "F.nc", "2015-03-31", 3, 0.25,
                       precip=(rng.gamma(0.5, 6, shape), "mm/day"),
                       t2m=(280 + rng.normal(0, 3, shape), "K"))
    r = run("ingest", *v3_files, "--forcing", f, "--out", tmp_path / "c.nc", *NORTH_AMERICA)
    assert r.returncode == 0, r.stderr
    assert "forcing from" in r.stdout and "mm/day over land" in r.stdout
    c = xr.open_dataset(tmp_path / "c.nc")
    land = c.land.values == 1
    assert np.isfinite(c.precip.values[:, land]).all() and np.isfinite(c.pet.values[:, land]).all()
    assert float(c.tair.where(c.land == 1).mean()) == pytest.approx(280 - 273.15, abs=1.0)
    r = run("wbm", "calibrate", tmp_path / "c.nc", "--out", tmp_path / "w.nc", "--wbm-iters", "3")
    assert r.returncode == 0, r.stderr
    assert {"wbm", "split"} <= set(xr.open_dataset(tmp_path / "w.nc").variables)


def test_forcing_that_does_not_cover_the_days_or_has_wrong_units_is_one_clear_line(
    v3_files, tmp_path
):
    # the day before the first SMAP day is missing
    short = lonlat_forcing(tmp_path / "short.nc", "2015-04-01", 2, 0.5, precip=(1.0, "mm/day"),
                           tair=(15.0, "degC"))
    r = run("ingest", *v3_files, "--forcing", short, "--out", tmp_path / "c.nc", *NORTH_AMERICA)
    assert (
        r.returncode == 1
        and "Traceback" not in r.stderr
        and "short.nc" in r.stderr
        and "lacks 1" in r.stderr
    )
    kelvin = lonlat_forcing(tmp_path / "kelvin.nc", "2015-04-01", 2, 0.5,   # °C labelled K
                            precip=(1.0, "mm/day"), tair=(15.0, "K"))
    r = run("ingest", *v3_files, "--forcing", kelvin, "--forcing-days", "overpass", "--out",
            tmp_path / "c.nc", *NORTH_AMERICA)
    assert r.returncode == 1 and "kelvin.nc" in r.stderr and "are the units right?" in r.stderr
