"""Reliability: property-based tests of the reader and QC, injected faults (files that vanish, full
disks, non-finite losses), and reproducibility. Each fault must be reported clearly and never
leave a half-written file."""

import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import HealthCheck, given, settings, strategies as st

import smap_hybrid
from smap_hybrid.config import ReconstructConfig, TrainConfig, WBMConfig
from smap_hybrid.data import (
    FLAG_FILL,
    QC_REASONS,
    SURFACE_FLAG_BITS,
    QCConfig,
    apply_qc,
    open_cube,
)
from smap_hybrid.cube import load_cube, write_cube
from smap_hybrid.runs import member_dir
from smap_hybrid.grid import EASE2_36KM
from smap_hybrid.smap import SMAPFileError, read_granule, write_granule_from_dmr
from smap_hybrid.train import NonFiniteLoss, train
from smap_hybrid.twin import TwinConfig, make_twin
from smap_hybrid.wbm import fit_wbm

from conftest import V9_VARS, v9_fields

# --- properties of QC: whatever the values and flags, the output obeys the contract ---------------

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([-9999.0, -999.0, 0.0, 0.02, 0.5, 1.0, 65534.0]),
)
flags = st.one_of(st.integers(0, 65535), st.just(FLAG_FILL))


@st.composite
def qc_configs(draw):
    lo = draw(st.floats(0, 0.5))
    hi = draw(st.floats(lo + 0.01, 1.0)) if lo < 0.99 else 1.0
    bits = draw(st.lists(st.sampled_from(sorted(SURFACE_FLAG_BITS)), unique=True))
    return QCConfig(
        valid_min=lo,
        valid_max=max(hi, lo + 0.001),
        require_recommended=draw(st.booleans()),
        surface_bits=tuple(bits),
    )


@settings(max_examples=200, deadline=None)
@given(sm=st.lists(values, min_size=1, max_size=40), data=st.data(), qc=qc_configs())
def test_qc_output_obeys_the_contract(sm, data, qc):
    n = len(sm)
    qf = np.array(data.draw(st.lists(flags, min_size=n, max_size=n)), "uint16")
    sf = np.array(data.draw(st.lists(flags, min_size=n, max_size=n)), "uint16")
    raw = np.array(sm, "float32")
    ds = xr.Dataset(
        {
            k: (("time",), v)
            for k, v in dict(sm_raw=raw, retrieval_qual_flag=qf, surface_flag=sf).items()
        }
    )
    out = apply_qc(ds, qc)
    got, reason = out.sm.values, out.qc_reason.values
    kept = reason == 0
    # valid values inside the range, NaN elsewhere, and a reason for every dropped value
    assert np.all(np.isfinite(got[kept])) and np.all(
        (got[kept] >= qc.valid_min) & (got[kept] <= qc.valid_max)
    )
    assert np.all(np.isnan(got[~kept])) and np.array_equal(got[kept], raw[kept])
    # each reason recorded when (and only when) its condition holds
    assert np.array_equal(reason & QC_REASONS["no_retrieval"] > 0, np.isnan(raw))
    with np.errstate(invalid="ignore"):
        assert np.array_equal(
            reason & QC_REASONS["out_of_range"] > 0, (raw < qc.valid_min) | (raw > qc.valid_max)
        )
    not_rec = (qf != FLAG_FILL) & ((qf & 1) == 1) & qc.require_recommended
    assert np.array_equal(reason & QC_REASONS["not_recommended"] > 0, not_rec)
    for name in qc.surface_bits:
        hit = (sf != FLAG_FILL) & (((sf >> SURFACE_FLAG_BITS[name]) & 1) == 1)
        assert np.all(reason[hit] != 0), name


# --- properties of the reader: any window reads exactly the global slice, or is refused clearly ---

@pytest.fixture(scope="module")
def granule(samples, tmp_path_factory):
    dmr = samples / "smap_l3_v9_layout" / "SC_SPL3SMP_009.dmr"
    if not dmr.exists():
        pytest.skip(f"{dmr} not found")
    fields = v9_fields(3)
    p = write_granule_from_dmr(
        dmr,
        tmp_path_factory.mktemp("g") / "SMAP_L3_SM_P_20190601_R19240_001.h5",
        fields,
        variables=V9_VARS,
    )
    return p, read_granule(p)


def on_the_granule(n):
    "Hypothesis settings for `n` examples that share the module's granule fixture."
    return settings(
        max_examples=n, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )


@on_the_granule(40)
@given(r0=st.integers(-5, 410), r1=st.integers(-5, 412), c0=st.integers(-5, 968),
       c1=st.integers(-5, 970))   # windows, empty, reversed and out of bounds included
def test_any_window_reads_the_global_slice(granule, r0, r1, c0, c1):
    p, full = granule
    win = read_granule(p, rows=slice(r0, r1), cols=slice(c0, c1))
    for k in ("sm_raw", "retrieval_qual_flag", "surface_flag"):
        np.testing.assert_array_equal(win[k], full[k][r0:r1, c0:c1])


@on_the_granule(25)
@given(lon0=st.floats(-200, 200), lat0=st.floats(-100, 100), dlon=st.floats(-5, 60),
       dlat=st.floats(-5, 40))    # boxes anywhere, inverted and off the globe included
def test_any_bbox_gives_a_consistent_cube_or_a_clear_error(granule, lon0, lat0, dlon, dlat):
    p, full = granule
    bbox = (lon0, lat0, lon0 + dlon, lat0 + dlat)
    try:
        rows, cols = EASE2_36KM.window(*bbox)
    except ValueError as e:
        assert "bbox" in str(e)
        with pytest.raises(ValueError, match="bbox"):
            open_cube([p], bbox=bbox)
        return
    cube = open_cube([p], bbox=bbox)
    assert cube.sm.shape == (1, rows.stop - rows.start, cols.stop - cols.start)
    np.testing.assert_array_equal(cube.sm_raw.values[0], full["sm_raw"][rows, cols])
    sm = cube.sm.values
    assert np.all(np.isnan(sm) | ((sm >= 0.02) & (sm <= 0.5)))


def test_hostile_values_in_a_granule(dmr, tmp_path):
    """NaN, inf, odd fills and out-of-range values written into a real-layout file: NaN with a
    reason, never a bad value."""
    fields = v9_fields(4)
    key = "Soil_Moisture_Retrieval_Data_AM/soil_moisture_dca"
    sm = fields[key]
    sm[0, :6] = [np.nan, np.inf, -np.inf, -999.0, 7.5, 65534.0]
    fields["Soil_Moisture_Retrieval_Data_AM/retrieval_qual_flag_dca"][0, :6] = 0
    fields["Soil_Moisture_Retrieval_Data_AM/surface_flag"][0, :6] = 0
    p = write_granule_from_dmr(
        dmr, tmp_path / "SMAP_L3_SM_P_20190601_R19240_001.h5", fields, variables=V9_VARS
    )
    cube = open_cube([p]).isel(time=0, y=0, x=slice(0, 6)).compute()
    assert cube.sm.isnull().all() and (cube.qc_reason.values != 0).all()
    assert (cube.qc_reason.values[1:] & QC_REASONS["out_of_range"]).all()


# --- faults ---------------------------------------------------------------------------------------

def test_a_file_that_disappears_during_a_batch_is_named(make_v9, tmp_path):
    make_v9("20190601", 0)
    gone, _ = make_v9("20190602", 1)
    make_v9("20190603", 2)
    cube = open_cube(tmp_path, bbox=(-100, 35, -90, 45))  # scanned and checked: all three are fine
    gone.unlink()  # ... then one vanishes before the data are read
    with pytest.raises(SMAPFileError, match=gone.name) as e:
        cube.sm.compute()
    assert "does not exist" in str(e.value)


def _in_a_small_disk(code: str, tmp_path: Path, limit: int):
    """Run `code` in a subprocess whose files may not exceed `limit` bytes (a full disk, as the
    writer sees it)."""
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(code))

    def limit_files():
        signal.signal(
            signal.SIGXFSZ, signal.SIG_IGN
        )  # the write then fails with EFBIG, as on a full disk (ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        preexec_fn=limit_files,
        timeout=300,
    )


def test_full_disk_while_writing_a_cube_leaves_the_old_file_intact(tmp_path):
    cube = make_twin(TwinConfig(rows=24, cols=24, days=120))
    write_cube(cube.isel(time=slice(0, 5)), tmp_path / "cube.nc")  # a previous, valid version
    before = (tmp_path / "cube.nc").read_bytes()
    write_cube(cube, tmp_path / "big_source.nc")
    r = _in_a_small_disk(
        """
        from smap_hybrid.cube import load_cube, write_cube
        write_cube(load_cube("big_source.nc").load(), "cube.nc")
    """,
        tmp_path,
        limit=len(before) + 50_000,
    )
    assert (
        r.returncode != 0
        and "cube.nc: could not be written" in r.stderr
        and "No partial file" in r.stderr
    )
    assert (tmp_path / "cube.nc").read_bytes() == before, "the previous file must be unchanged"
    assert not list(tmp_path.glob(".cube.nc.*")), "no temporary file left behind"
    assert load_cube(tmp_path / "cube.nc").sizes["time"] == 5


def test_cli_reports_a_full_disk_in_one_line(tmp_path):
    exe = Path(sys.executable).with_name("smap-hybrid")

    def limit_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    r = subprocess.run(
        [
            str(exe),
            "twin",
            "--out",
            str(tmp_path / "t.nc"),
            "--days",
            "200",
            "--rows",
            "20",
            "--cols",
            "20",
        ],
        capture_output=True,
        text=True,
        preexec_fn=limit_files,
        timeout=300,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and "could not be written" in r.stderr
    assert not (tmp_path / "t.nc").exists() and not list(tmp_path.glob(".t.nc.*"))


@pytest.fixture(scope="module")
def small_cube():
    cube = make_twin(TwinConfig(rows=16, cols=16, days=200, seed=2))
    return fit_wbm(cube, WBMConfig(wbm_iters=5))


TINY = TrainConfig(
    scale=16, epochs=3, batches_per_epoch=2, batch=2, seq_len=20, hidden=(4, 4), val_batches=1
)


def test_full_disk_while_checkpointing_keeps_the_last_good_checkpoint(small_cube, tmp_path):
    write_cube(small_cube, tmp_path / "cube.nc")
    train(
        small_cube, TrainConfig(**{**TINY.__dict__, "epochs": 1}), tmp_path / "run", progress=False
    )  # epoch 1
    ck_path = member_dir(tmp_path / "run", 0) / "checkpoint.pt"
    ck = torch.load(ck_path, weights_only=False)
    ck["config"]["epochs"] = 3
    torch.save(ck, ck_path)  # continue the same run to 3 epochs
    good = ck_path.read_bytes()
    r = _in_a_small_disk(
        f"""
        from smap_hybrid.cube import load_cube
        from smap_hybrid.config import TrainConfig
        from smap_hybrid.train import train
        cube = load_cube("cube.nc", ("sm", "split")).load()
        train(cube, TrainConfig(**{dict(TINY.__dict__)!r}), "run", progress=False)
    """,
        tmp_path,
        limit=len(good) - 100,
    )  # the next checkpoint does not fit
    assert (
        r.returncode != 0
        and "checkpoint.pt: could not be written" in r.stderr
        and "disk full?" in r.stderr
    ), r.stderr[-2000:]
    assert "another configuration" not in r.stderr
    assert ck_path.read_bytes() == good, "the last good checkpoint must survive"
    assert not list(ck_path.parent.glob(".checkpoint.pt.*")), "no temporary file left behind"
    assert torch.load(ck_path, weights_only=False)["state"]["epoch"] == 1
    s = train(
        small_cube, TINY, tmp_path / "run", progress=False
    )  # space again: resumes and finishes
    assert s["members"][0]["epochs"] == 3


def test_a_non_finite_loss_stops_with_a_diagnostic_and_keeps_the_checkpoint(
    small_cube, tmp_path, monkeypatch
):
    import smap_hybrid.train as tr

    real, calls = tr.batch_loss, {"n": 0}

    def flaky(*a, **k):
        loss = real(*a, **k)
        if k.get("on", "target") == "target":
            calls["n"] += 1
            if calls["n"] == 4:
                return loss * float("nan")  # epoch 2, batch 2
        return loss

    monkeypatch.setattr(tr, "batch_loss", flaky)
    with pytest.raises(NonFiniteLoss) as e:
        train(small_cube, TINY, tmp_path / "run", progress=False)
    msg = str(e.value)
    assert (
        "epoch 2, batch 2" in msg and "patches (t0, y0, x0)" in msg and "inputs all finite" in msg
    )
    assert "weights finite" in msg
    ck = torch.load(member_dir(tmp_path / "run", 0) / "checkpoint.pt", weights_only=False)
    assert ck["state"]["epoch"] == 1 and all(torch.isfinite(v).all() for v in ck["model"].values())
    assert not (member_dir(tmp_path / "run", 0) / "model.pt").exists()


def test_non_finite_inputs_are_refused_before_training(small_cube, tmp_path):
    bad = small_cube.assign(wbm=small_cube.wbm.where(small_cube.time != small_cube.time[3], np.inf))
    with pytest.raises(ValueError, match="'wbm' has .* NaN/inf values on land"):
        train(bad, TINY, tmp_path / "run", progress=False)


# --- reproducibility ------------------------------------------------------------------------------

def test_same_seed_same_twin_other_seed_other_twin():
    a, b = (
        make_twin(TwinConfig(rows=10, cols=12, days=90, seed=7)),
        make_twin(TwinConfig(rows=10, cols=12, days=90, seed=7)),
    )
    xr.testing.assert_identical(a, b)
    c = make_twin(TwinConfig(rows=10, cols=12, days=90, seed=8))
    assert not np.array_equal(a.sm_true.values, c.sm_true.values)


def test_same_seed_same_training_on_cpu(small_cube, tmp_path):
    sa = train(small_cube, TINY, tmp_path / "a", progress=False)
    sb = train(small_cube, TINY, tmp_path / "b", progress=False)
    a = torch.load(member_dir(tmp_path / "a", 0) / "model.pt", weights_only=True)
    b = torch.load(member_dir(tmp_path / "b", 0) / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert sa["members"][0]["history"][-1]["val_nll"] == sb["members"][0]["history"][-1]["val_nll"]


def test_products_carry_version_configuration_and_inputs(make_v9, tmp_path):
    from smap_hybrid.reconstruct import reconstruct

    days = [f"201906{d:02d}" for d in range(1, 31)]
    for i, d in enumerate(days):
        make_v9(d, i)
    cube = open_cube(tmp_path, bbox=(-100, 35, -95, 40)).load()
    rng = np.random.default_rng(0)
    cube["precip"] = (cube.sm.dims, (rng.random(cube.sm.shape) < 0.2) * 10.0)
    cube["pet"] = (cube.sm.dims, np.full(cube.sm.shape, 3.0))
    cube = fit_wbm(cube, WBMConfig(wbm_iters=3))
    cfg = TrainConfig(
        scale=8,
        epochs=1,
        batches_per_epoch=1,
        batch=2,
        seq_len=10,
        hidden=(4, 4),
        min_obs=1,
        val_batches=1,
    )
    train(cube, cfg, tmp_path / "run", progress=False)
    prod = reconstruct(cube, tmp_path / "run", ReconstructConfig(all_observations=True))
    back = xr.open_dataset(write_cube(prod, tmp_path / "product.nc"))
    assert back.attrs["source"] == f"smap_hybrid {smap_hybrid.__version__}"
    assert '"scale": 8' in back.attrs["config"] and '"seed": 0' in back.attrs["config"]
    assert '"validation": 0.1' in back.attrs["split"]
    files = back.attrs["input_files"].splitlines()
    assert len(files) == 30 and all(Path(f).name.startswith("SMAP_L3_SM_P_201906") for f in files)
