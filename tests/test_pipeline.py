"""The hybrid end to end on a small twin, as a user runs it (the console script): it beats the WBM
alone and linear interpolation on withheld observed days; training killed mid-run resumes from
its checkpoint to the same result; the product is scored against ISMN stations; bad input gets a
clear error."""

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from helpers import cli as run, flags, kill_when

TRAIN = flags(scale=16, epochs=6, batches_per_epoch=6, seq_len=30, hidden=(8, 8), val_batches=2)


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    assert (
        run(
            "twin", "--out", d / "twin.nc", "--rows", "32", "--cols", "32", "--days", "365"
        ).returncode
        == 0
    )
    r = run(
        "wbm", "calibrate", d / "twin.nc", "--out", d / "cube.nc", "--wbm-iters", "30"
    )  # draws the split
    assert r.returncode == 0, r.stderr
    return d / "cube.nc"


@pytest.fixture(scope="module")
def trained(cube, tmp_path_factory):
    "A trained run and its product (reconstructed in 2 blocks of days): folder/run, product.nc."
    d = tmp_path_factory.mktemp("hybrid")
    r = run("train", cube, "--out", d / "run", *TRAIN)
    assert r.returncode == 0, r.stderr
    r = run("reconstruct", cube, "--run", d / "run", "--out", d / "product.nc", "--days", "300")
    assert r.returncode == 0, r.stderr
    return d


def test_hybrid_beats_wbm_and_linear_interpolation(cube, trained, tmp_path):
    prod = xr.open_dataset(trained / "product.nc")
    land = prod.land.values == 1
    assert not np.isnan(prod.sm.values[:, land]).any(), "the product must be gap-free on land"
    assert {"sm", "sm_std", "sm_q05", "sm_q95", "source", "wbm"} <= set(
        prod.variables
    ) and prod.attrs["loop_mode"] == "closed"
    r = run("validate", cube, trained / "product.nc", "--out", tmp_path / "m.csv")
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(tmp_path / "m.csv")
    m = m[m.reference == "withheld SMAP days"].set_index("estimator")
    for base in ("WBM open loop", "linear interpolation"):
        assert m.loc["hybrid", "ubRMSE"] < m.loc[base, "ubRMSE"], m
        assert m.loc["hybrid", "R"] > m.loc[base, "R"], m


def test_validate_against_ismn_stations(cube, trained, ismn_sample):
    "The twin's window (2018) holds the sample's ARM-1 station (to 2018-08-09), not Barrow."
    prod = trained / "product.nc"
    r = run("validate", cube, prod, "--insitu", ismn_sample)   # withheld days and stations at once
    assert r.returncode == 0 and "withheld" in r.stdout, r.stderr
    assert "left out: COSMOS/Barrow-ARM: outside the product's window" in r.stdout, r.stdout
    folder = trained / "product_insitu"                        # beside the product
    assert {p.name for p in folder.iterdir()} == {
        "sites.csv", "overall.csv", "skipped.csv", "map.png"}
    sites = pd.read_csv(folder / "sites.csv").set_index(["days", "estimator"])
    assert set(sites.stations) == {"COSMOS/ARM-1"} and set(sites.depths) == {"0-0.19 m"}
    n = sites.n
    assert n["observed", "product"] == n["observed", "SMAP"] > 20 and n["filled", "product"] > 50
    assert n["all", "product"] == n["observed", "product"] + n["filled", "product"] <= 221
    assert (sites.R_lo < sites.R).all() and (sites.R < sites.R_hi).all()
    r = run("validate", prod, "--insitu", ismn_sample, "--depth-max", "-0.1")
    assert r.returncode == 1 and "ARM-1: no soil moisture sensor with its top within" in r.stderr


def test_validate_refuses_what_is_not_an_ismn_download(trained, tmp_path):
    "(Each refusal is tested in chapter 21; here the one line a user sees.)"
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04 cut short")
    r = run("validate", trained / "product.nc", "--insitu", tmp_path / "cut.zip")
    assert r.returncode == 1 and "cut.zip: not an ISMN download" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_killed_training_resumes_to_the_same_model(cube, trained, tmp_path):
    "Killed mid-run, resumed: the weights of the uninterrupted run (the `trained` fixture's)."
    ck = tmp_path / "killed" / "member_0" / "checkpoint.pt"
    kill_when(["train", cube, "--out", tmp_path / "killed", *TRAIN, "--no-calibrate"], ck, 300)
    done = torch.load(ck, weights_only=False)["state"]["epoch"]
    assert 1 <= done < 6, f"the kill came too late to test a resume (after epoch {done})"
    r = run("train", cube, "--out", tmp_path / "killed", *TRAIN, "--no-calibrate")
    assert r.returncode == 0, r.stderr
    assert f"resuming {tmp_path / 'killed'} (member_0) after epoch" in r.stdout
    a = torch.load(trained / "run" / "member_0" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "member_0" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a), (
        "the resumed run must end with the uninterrupted run's model"
    )


def test_bad_input_is_a_clear_error(cube, tmp_path):
    r = run("train", cube, "--out", tmp_path / "early", "--seq-len", "2000", "--epochs", "1")
    assert r.returncode == 1 and "fewer than seq_len" in r.stderr
    ds = xr.open_dataset(cube).load()
    ds["sm"] = ds.sm * np.nan
    ds.to_netcdf(tmp_path / "empty.nc")
    r = run("train", tmp_path / "empty.nc", "--out", tmp_path / "e", *TRAIN)
    assert r.returncode == 1 and "'sm' has no valid value" in r.stderr and "empty.nc" in r.stderr
    r = run("train", tmp_path / "twin_without_wbm.nc", "--out", tmp_path / "x")
    assert r.returncode == 1 and "no such cube" in r.stderr
    one = [*flags(epochs=1, batches_per_epoch=1, seq_len=30, hidden=8, val_batches=1),
           "--no-calibrate"]
    assert run("train", cube, "--out", tmp_path / "r", "--scale", "16", *one).returncode == 0
    r = run("train", cube, "--out", tmp_path / "r", "--scale", "32", *one)
    assert r.returncode == 1 and "another configuration" in r.stderr and "scale" in r.stderr
    r = run("reconstruct", cube, "--run", tmp_path / "nothing", "--out", tmp_path / "p.nc")
    assert r.returncode == 1 and "no trained model" in r.stderr


def test_reconstruct_on_a_dask_scheduler(cube, trained, tmp_path):
    "`smap-hybrid --scheduler ADDRESS reconstruct`: one strip per worker of a running cluster."
    distributed = pytest.importorskip("distributed", reason="the 'cluster' extra")
    args = ("reconstruct", cube, "--run", trained / "run", "--days", "300")  # as the fixture's
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as lc:
        r = run("--scheduler", lc.scheduler_address, *args, "--out", tmp_path / "two.nc")
    assert r.returncode == 0 and "2 strips: 2 written" in r.stdout, r.stderr
    one, two = xr.open_dataset(trained / "product.nc"), xr.open_dataset(tmp_path / "two.nc")
    for k in ("sm", "sm_std", "sm_q05", "sm_q95"):  # workers run one math thread: rounding only
        np.testing.assert_allclose(two[k].values, one[k].values, atol=2e-3, equal_nan=True)
    assert np.array_equal(two.source.values, one.source.values)
    assert not list(tmp_path.glob("two.nc.strips-*")), "the strip folder is removed"
