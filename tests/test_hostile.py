"""Hostile but honest inputs, fed through the command line (`smap_hybrid.cli.main`, in this
process): each is refused with exit status 1 and a message that names the file and the
problem, leaving every input and earlier output as it was; or, where the input is valid
(global and 0…360 forcing grids, a dry window, sub-daily forcing, any twin centre), accepted
with the right cube."""

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import flags
from smap_hybrid.cli import main
from smap_hybrid.forcing import ForcingFileError, window_of

TINY = [*flags(scale=16, hidden=(8, 8), epochs=1, batches_per_epoch=1, batch=4, seq_len=30,
               val_batches=1), "--no-calibrate"]
BOX = ["--bbox", "-105", "35", "-95", "42"]


def cli(capsys, *args):
    "(exit status, stdout, stderr) of `smap-hybrid ARGS`."
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def refused(capsys, *args, says=(), untouched=()):
    "Assert exit status 1, every phrase in the message, and the `untouched` files unchanged."
    before = {p: Path(p).read_bytes() for p in untouched}
    rc, out, err = cli(capsys, *args)
    assert rc == 1, out + err
    for s in says:
        assert s in err, err
    assert "Traceback" not in err
    for p, b in before.items():
        assert Path(p).read_bytes() == b, f"{p} was changed"
    return err


@pytest.fixture(scope="module")
def cubes(tmp_path_factory):
    "Two small calibrated twin cubes of one shape on other windows, and a run trained on the first."
    d = tmp_path_factory.mktemp("hostile")
    for name, lon in (("a", -95), ("b", -100)):
        assert main(["twin", "--out", str(d / f"{name}_twin.nc"), "--rows", "16", "--cols", "16",
                     "--days", "240", "--center-lon", str(lon)]) == 0
        assert main(["wbm", "calibrate", str(d / f"{name}_twin.nc"), "--out",
                     str(d / f"{name}.nc"), "--wbm-iters", "5"]) == 0
    assert main(["train", str(d / "a.nc"), "--out", str(d / "run"), *TINY]) == 0
    return d


def test_1_an_output_that_is_an_input_is_refused(cubes, capsys, tmp_path):
    cube, run = cubes / "a.nc", cubes / "run"
    refused(capsys, "reconstruct", cube, "--run", run, "--out", cube,
            says=[f"{cube}: is also an input"], untouched=[cube])
    os.symlink(cube, tmp_path / "link.nc")
    refused(capsys, "validate", cube, tmp_path / "link.nc", "--out", cube,
            says=["is also an input"], untouched=[cube])
    refused(capsys, "wbm", "calibrate", cube, "--out", tmp_path / "link.nc",
            says=["is also an input"], untouched=[cube])


def test_2_an_output_folder_is_refused_before_any_work(cubes, capsys):
    err = refused(capsys, "reconstruct", cubes / "a.nc", "--run", cubes / "run", "--out", cubes,
                  says=[f"{cubes}: is a folder"])
    assert "disk full" not in err


def test_smaller_stale_temporaries_go_and_outputs_get_the_umask_mode(cubes, capsys, tmp_path):
    stale = tmp_path / ".p.nc.x1y2.tmp"        # what a killed reconstruct leaves
    stale.write_bytes(b"half a product")
    old = os.umask(0o022)
    try:
        rc, out, err = cli(capsys, "reconstruct", cubes / "a.nc", "--run", cubes / "run",
                           "--out", tmp_path / "p.nc", "--days", "60")
    finally:
        os.umask(old)
    assert rc == 0, err
    assert not stale.exists() and [p.name for p in tmp_path.iterdir()] == ["p.nc"]
    assert (tmp_path / "p.nc").stat().st_mode & 0o777 == 0o644


def _v3_copy(src, folder, day, fill=False):
    "A copy of a real v3 granule under another day's name, its soil moisture all fill values."
    p = Path(folder) / f"SMAP_L3_SM_P_{day}_R13080_001.h5"
    shutil.copy(src, p)
    p.chmod(0o644)
    if fill:
        with h5py.File(p, "r+") as f:
            f["Soil_Moisture_Retrieval_Data/soil_moisture"][...] = -9999.0
    return p


def test_3_a_granule_of_fill_values_is_reported_and_the_land_mask_kept(v3_files, capsys,
                                                                        tmp_path):
    for p in v3_files:
        _v3_copy(p, tmp_path, p.name[13:21])
    rc, out, err = cli(capsys, "ingest", tmp_path, "--out", tmp_path / "good.nc", *BOX)
    assert rc == 0, err
    empty = _v3_copy(v3_files[0], tmp_path, "20150403", fill=True)
    refused(capsys, "ingest", tmp_path, "--out", tmp_path / "c.nc", *BOX, "--on-error", "raise",
            says=[str(empty), "only fill values"])
    rc, out, err = cli(capsys, "ingest", tmp_path, "--out", tmp_path / "c.nc", *BOX)
    assert rc == 0 and f"skipped {empty}" in out and "only fill values" in out, out + err
    good, got = xr.open_dataset(tmp_path / "good.nc"), xr.open_dataset(tmp_path / "c.nc")
    assert int(got.land.sum()) == int(good.land.sum()) > 0


def test_4_a_renamed_granule_is_refused_by_its_own_times(v3_files, capsys, tmp_path):
    _v3_copy(v3_files[0], tmp_path, "20150401")
    renamed = _v3_copy(v3_files[1], tmp_path, "20150404")
    err = refused(capsys, "ingest", tmp_path, "--out", tmp_path / "c.nc", *BOX,
                  "--on-error", "raise", says=[str(renamed), "observed on 2015-04-02"])
    assert not (tmp_path / "c.nc").exists(), err


def test_5_a_cube_without_land_is_refused_at_the_door(cubes, capsys, tmp_path):
    ds = xr.open_dataset(cubes / "a.nc").load()
    ds["land"] = ds.land.astype(bool) & False
    ds.to_netcdf(tmp_path / "sea.nc")
    refused(capsys, "train", tmp_path / "sea.nc", "--out", tmp_path / "run", *TINY,
            says=["sea.nc: no land pixel"])
    assert not (tmp_path / "run").exists()


def test_6_a_product_of_another_cube_is_not_scored(cubes, capsys, tmp_path):
    refused(capsys, "validate", cubes / "a.nc", cubes / "b.nc", "--out", tmp_path / "s.csv",
            says=[f"{cubes / 'b.nc'}: its x axis", "another cube"])
    assert not (tmp_path / "s.csv").exists()


def test_7_a_run_does_not_resume_on_another_cube(cubes, capsys):
    summary = (cubes / "run" / "run.json").read_bytes()
    refused(capsys, "train", cubes / "b.nc", "--out", cubes / "run", *TINY,
            says=["was trained on another cube", str(cubes / "a.nc"), str(cubes / "b.nc")])
    assert (cubes / "run" / "run.json").read_bytes() == summary


def _forcing(path, lat, lon, time, precip=2.0, tair=15.0, units=("mm/day", "degC"), dims=None):
    "A user's forcing file on a lat/lon grid (any order and convention)."
    dims = dims or ("time", "lat", "lon")
    shape = (len(time), len(lat), len(lon))
    xr.Dataset({"precip": (dims, np.broadcast_to(precip, shape), dict(units=units[0])),
                "tair": (dims, np.broadcast_to(tair, shape), dict(units=units[1]))},
               {dims[0]: time, dims[1]: lat, dims[2]: lon}).to_netcdf(path)
    return path


DAYS = pd.date_range("2015-03-31", "2015-04-02")


def test_8_global_and_0_to_360_forcing_grids_are_accepted(v3_files, capsys, tmp_path):
    lat = np.arange(89.75, -90, -0.5)                                  # north-up, edge to edge
    for name, lon in (("pm180.nc", np.arange(-179.75, 180, 0.5)),
                      ("0to360.nc", np.arange(0.25, 360, 0.5))):
        f = _forcing(tmp_path / name, lat, lon, DAYS, precip=np.floor(lon % 360 / 10) % 7)
        rc, out, err = cli(capsys, "ingest", *v3_files, "--forcing", f, "--out",
                           tmp_path / f"{name}.cube.nc")
        assert rc == 0, err
    a, b = (xr.open_dataset(tmp_path / f"{n}.cube.nc") for n in ("pm180.nc", "0to360.nc"))
    assert a.sizes["x"] == 964 and not np.isnan(a.precip.values).any()
    np.testing.assert_allclose(a.precip.values, b.precip.values, atol=1e-5)


def test_9_a_dry_window_in_mm_per_day_is_accepted(v3_files, capsys, tmp_path):
    f = _forcing(tmp_path / "dry.nc", np.arange(30.25, 45, 0.5), np.arange(-110.25, -90, 0.5),
                 DAYS, precip=0.31)
    rc, out, err = cli(capsys, "ingest", *v3_files, "--forcing", f, "--out", tmp_path / "c.nc",
                       *BOX)
    assert rc == 0, err
    np.testing.assert_allclose(xr.open_dataset(tmp_path / "c.nc").precip.values, 0.31, atol=1e-5)


def test_10_the_twin_centres_anywhere_on_the_grid(capsys, tmp_path):
    for lon in (-80, -90, -100, 10):
        rc, out, err = cli(capsys, "twin", "--out", tmp_path / "t.nc", "--rows", "8", "--cols",
                           "8", "--days", "30", "--center-lon", lon)
        assert rc == 0, err
        t = xr.open_dataset(tmp_path / "t.nc")
        assert abs(float(t.lon[4, 4]) - lon) < 0.4


def test_11_six_hourly_forcing_is_aggregated_to_days(v3_files, capsys, tmp_path):
    time = pd.date_range("2015-03-31", "2015-04-02 18:00", freq="6h")
    rate = np.where(time.hour == 0, 8.0, 0.0)[:, None, None]        # mm/day during one step
    f = _forcing(tmp_path / "six.nc", np.arange(30.25, 45, 0.5), np.arange(250.25, 270, 0.5),
                 time, precip=rate, tair=288.15, units=("mm/day", "K"),
                 dims=("valid_time", "latitude", "longitude"))
    rc, out, err = cli(capsys, "ingest", *v3_files, "--forcing", f, "--forcing-days",
                       "overpass", "--out", tmp_path / "c.nc", *BOX)
    assert rc == 0, err
    c = xr.open_dataset(tmp_path / "c.nc")
    np.testing.assert_allclose(c.precip.values, 2.0, atol=1e-5)            # mean rate: 8 / 4
    np.testing.assert_allclose(c.tair.values, 15.0, atol=1e-4)
    cut = _forcing(tmp_path / "cut.nc", np.arange(30.25, 45, 0.5), np.arange(-110.25, -90, 0.5),
                   time[:-1], dims=("valid_time", "latitude", "longitude"))
    refused(capsys, "ingest", *v3_files, "--forcing", cut, "--out", tmp_path / "d.nc", *BOX,
            says=["cut.nc: sub-daily forcing (4 steps a day) has 3 on 2015-04-02"])


def test_12_weights_of_another_configuration_name_the_file(cubes, capsys, tmp_path):
    shutil.copytree(cubes / "run", tmp_path / "run")
    assert main(["train", str(cubes / "a.nc"), "--out", str(tmp_path / "wide"),
                 *TINY[:-1], "--hidden", "12", "12", "--no-calibrate"]) == 0
    shutil.copy(tmp_path / "wide" / "member_0" / "checkpoint.pt",
                tmp_path / "run" / "member_0" / "checkpoint.pt")
    shutil.copy(tmp_path / "wide" / "member_0" / "model.pt",
                tmp_path / "run" / "member_0" / "model.pt")
    refused(capsys, "reconstruct", cubes / "a.nc", "--run", tmp_path / "run", "--out",
            tmp_path / "p.nc", says=["member_0/model.pt does not fit", "hidden: (12, 12)"])
    assert not (tmp_path / "p.nc").exists()


@settings(max_examples=60, deadline=None)
@given(step=st.sampled_from([0.1, 0.25, 0.5, 0.625, 1.0]), zero_360=st.booleans(),
       north_up=st.booleans(), is_global=st.booleans(),
       lon0=st.floats(-179, 150), width=st.floats(1, 29), lat0=st.floats(-60, 50),
       cut=st.floats(-2, 2))
def test_every_grid_that_covers_the_window_is_accepted(step, zero_360, north_up, is_global,
                                                       lon0, width, lat0, cut):
    """Grids in both conventions, either latitude order, global or regional (edges `cut` degrees
    beyond or short of the window): accepted exactly when their cell edges cover the window."""
    n = round(360 / step)
    lon = -180 + step / 2 + step * np.arange(n)
    lat = np.arange(-90 + step / 2, 90, step)
    lat_range, lon_range = (lat0, lat0 + 10), (lon0, min(lon0 + width, 180.0))
    if not is_global:   # a regional grid whose western edge sits `cut` degrees inside or out
        west = lon_range[0] - cut
        lon = lon[(lon - step / 2 >= west - 1e-9) & (lon < lon_range[1] + 5)]
        lat = lat[(lat > lat_range[0] - 5) & (lat < lat_range[1] + 5)]
    if lon.size == 0:
        return
    tol = 1e-3 * step                                   # window_of's: far below a cell
    covers = is_global or lon[0] - step / 2 <= lon_range[0] + tol
    lat = lat[::-1] if north_up else lat
    lon = lon % 360 if zero_360 else lon
    v = xr.DataArray(np.zeros((lat.size, lon.size)), dict(lat=lat, lon=lon), ("lat", "lon"))
    if covers:
        w = window_of("f.nc", v, lat_range, lon_range)
        edges = w.lon.values[0] - step / 2, w.lon.values[-1] + step / 2
        assert edges[0] <= lon_range[0] + tol and edges[1] >= lon_range[1] - tol
        assert np.allclose(np.diff(w.lon.values), step)
    else:
        with pytest.raises(ForcingFileError, match="f.nc: covers"):
            window_of("f.nc", v, lat_range, lon_range)
