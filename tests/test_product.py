"""The product and the package as other people's tools meet them: the IOOS compliance checker
(CF 1.11) on the product and on the cubes the command line writes, rioxarray/GDAL on the grid,
and a wheel installed in a fresh virtual environment running a one-configuration batch outside
the source tree."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from helpers import cli, flags

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TINY = flags(scale=16, epochs=1, batches_per_epoch=1, batch=2, seq_len=20, hidden=4, val_batches=1)


def run(*args, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    "A twin cube, its WBM cube and a product, all written by the command line."
    d = tmp_path_factory.mktemp("product")
    cli("twin", "--out", d / "twin.nc", *flags(days=120, rows=16, cols=16), check=True)
    cli("wbm", "calibrate", d / "twin.nc", "--out", d / "cube.nc", "--wbm-iters", 3, check=True)
    cli("train", d / "cube.nc", "--out", d / "run", *TINY, check=True)
    cli("reconstruct", d / "cube.nc", "--run", d / "run", "--out", d / "product.nc", check=True)
    cli("reconstruct", d / "cube.nc", "--run", d / "run", "--out", d / "product.zarr", check=True)
    return d


def checker_errors(path, tmp_path):
    "High- and medium-priority failures of `compliance-checker --test=cf:1.11` on a file."
    out = tmp_path / f"{Path(path).stem}.json"
    subprocess.run(
        [
            str(BIN / "compliance-checker"),
            "--test=cf:1.11",
            "--format=json",
            "-o",
            str(out),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(out.read_text())["cf:1.11"]
    fails = {
        p: [
            (x["name"], m)
            for x in report.get(f"{p}_priorities", [])
            for m in x["msgs"]
            if x["value"][0] < x["value"][1]
        ]
        for p in ("high", "medium")
    }
    # a defect of the checker (compliance_checker/cf/appendix_f.py): the required attributes of
    # lambert_cylindrical_equal_area are written ("longitude_of_central_meridian") — a string, not a
    # tuple — so it asks for one attribute per character. The attribute itself is checked below.
    fails["high"] = [
        (n, m)
        for n, m in fails["high"]
        if not (
            m.endswith("required attribute for grid mapping lambert_cylindrical_equal_area")
            and len(m.split()[0]) == 1
        )
    ]
    return fails


@pytest.mark.parametrize("name", ["product.nc", "cube.nc", "twin.nc"])
def test_cf_1_11_compliance(files, tmp_path, name):
    fails = checker_errors(files / name, tmp_path)
    assert not fails["high"] and not fails["medium"], fails
    with xr.open_dataset(files / name) as ds:
        assert (
            ds.crs.attrs["longitude_of_central_meridian"] == 0.0
            and ds.attrs["Conventions"] == "CF-1.11"
        )


def test_the_zarr_product_is_the_netcdf_product(files, tmp_path):
    "Value for value and attribute for attribute; the CF checks that apply to a store pass."
    z, nc = xr.open_zarr(files / "product.zarr"), xr.open_dataset(files / "product.nc")
    assert set(z.variables) == set(nc.variables)
    for k in nc.variables:
        xr.testing.assert_identical(z[k].load(), nc[k].load())
    skip = {"history"}   # the time it was made
    assert {k: v for k, v in z.attrs.items() if k not in skip} == {
        k: v for k, v in nc.attrs.items() if k not in skip}
    assert z.sm.encoding["chunks"] == (16, 12, 16)   # 16 days, a band of rows, every column
    # the checker reads a store through netCDF-C's NCZarr, which lists no 0-d array (the grid
    # mapping `crs`, there and identical above) and reads JSON attributes back as int32 (uint8
    # `flag_values`, identical above); and a store's name does not end in .nc. All else applies.
    by_reader = ('must end with ".nc"', "grid mapping variable crs must exist in this dataset",
                 "flag_values (<class 'numpy.int32'>) must be the same data type as")
    fails = checker_errors(files / "product.zarr", tmp_path)
    fails["high"] = [f for f in fails["high"] if not any(b in f[1] for b in by_reader)]
    assert not fails["high"] and not fails["medium"], fails


def test_every_variable_is_described(files):
    with xr.open_dataset(files / "product.nc") as p:
        for k, v in p.data_vars.items():
            if k != "crs":
                assert "long_name" in v.attrs, k
                assert "units" in v.attrs or "flag_values" in v.attrs, k
        assert p.sm.attrs["standard_name"] == "volume_fraction_of_condensed_water_in_soil"
        assert p.sm_std.attrs["standard_name"].endswith("standard_error")
        assert p.sm.attrs["ancillary_variables"] == "sm_std sm_q05 sm_q95 source"
        assert p.source.attrs["flag_meanings"] == "not_land smap reconstructed"


def test_rioxarray_reads_the_crs_and_the_transform(files):
    rioxarray = pytest.importorskip("rioxarray")
    with xr.open_dataset(files / "product.nc", decode_coords="all") as p:
        sm = p.sm.rio.write_crs(p.rio.crs) if p.sm.rio.crs is None else p.sm
        assert sm.rio.crs.to_epsg() == 6933
        t, cell = sm.rio.transform(), 36032.220840584
        assert t.a == pytest.approx(cell) and t.e == pytest.approx(-cell) and t.b == t.d == 0
        assert t.c == pytest.approx(float(p.x[0]) - cell / 2) and t.f == pytest.approx(
            float(p.y[0]) + cell / 2
        )
        # the transform places every cell centre exactly where the EASE-Grid 2.0 definition does
        col = round((float(p.x[0]) - -17367530.4451615) / cell - 0.5)
        assert col == int(p.col[0])
    assert rioxarray.__version__


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_environment_runs_a_batch_outside_the_source_tree(tmp_path):
    t0 = time.perf_counter()
    # build from a copy of the tracked files: the build writes nothing into the source tree and the
    # wheel holds exactly what a clone holds
    src = tmp_path / "src"
    files = run("git", "ls-files", cwd=ROOT).stdout.split()
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        tmp_path / "dist",
        src,
    )
    wheel = next((tmp_path / "dist").glob("smap_hybrid-*.whl"))
    env_dir = tmp_path / "fresh"
    run(sys.executable, "-m", "venv", env_dir)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import site; print(site.getsitepackages()[0])"], text=True
        ).strip()
    )
    # the dependencies are those of the project's environment (offline), smap_hybrid only from the
    # wheel: a path added by a .pth file is no site directory, so the editable install there is off
    deps = [p for p in sys.path if p.endswith("site-packages")][0]
    (site / "project_dependencies.pth").write_text(deps + "\n")
    run(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    out = run(
        py,
        "-c",
        "import smap_hybrid, pathlib; print(pathlib.Path(smap_hybrid.__file__).parent)",
        cwd=tmp_path,
    ).stdout
    assert str(site) in out, f"smap_hybrid must come from the wheel, not the source tree: {out}"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = run(
        env_dir / "bin" / "smap-hybrid",
        "experiments",
        "--out",
        "batch",
        *flags(scales=16, loops="closed", models="hybrid", twin_rows=16, twin_cols=16,
               twin_days=120, wbm_iters=3),
        *TINY,
        cwd=work,
        env=env,
    )
    assert "hybrid_16px_closed_seed0: done in" in r.stdout, r.stdout
    metrics = json.loads(
        (work / "batch" / "runs" / "hybrid_16px_closed_seed0" / "metrics.json").read_text()
    )
    assert metrics["table"][0]["estimator"] == "hybrid" and metrics["table"][0]["n"] > 0
    nb = json.loads(
        (work / "batch" / "runs" / "hybrid_16px_closed_seed0" / "experiment.ipynb").read_text()
    )
    assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), (
        "the notebook ran"
    )
    assert (work / "batch" / "experiment_template.ipynb").exists()  # generated, not read from nbs/
    print(
        "wheel built, installed in a fresh environment and a batch run in "
        f"{time.perf_counter() - t0:.0f} s"
    )
