"""Global scale: a synthetic cube on the full 406 x 964 EASE-Grid 2.0 (one year by default) through
the water balance model and the streamed reconstruction, each stage in its own process so its
wall time and peak memory (RSS) are its own; then the projection for the ten-year global job on
this machine.  The cube is synthetic (not the twin: a simple world built band by band so that
even its generation stays small): 29% land in coherent blobs between 60 S and 75 N, gamma-like
daily rain, seasonal PET, a WBM "truth" and SMAP-like observations on 30% of land days. The WBM
stage runs chunk by chunk on dask, serial (one thread) and with dask's threads (the reference is
the serial run, measured in the same process). The reconstruction uses the default network
(`TrainConfig()`: hidden 16 x 16, 16 px, look-ahead, one member; closed loop, both directions)
trained for one batch on the twin: its weights do not change the cost.
Its parallelism is torch's threads (one band at a time: bands hand their overlap sums on to the
next), measured on one band as all threads vs one. Today's tiling (neighbours share a quarter of
a tile) is measured against the half-overlapping tiles used before (`OVERLAP = 0.5`) on 64 rows
for the whole period, in the same process."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS, COLS, BAND = 406, 964, 32


def _generate(path, days):
    import netCDF4
    import pandas as pd
    import xarray as xr
    from smap_hybrid.grid import grid_coords
    from smap_hybrid.split import SPLIT, draw_split
    from smap_hybrid.wbm import BOUNDS, NAMES, wbm_kernel

    g = grid_coords()
    lat = g.lat.values
    rng = np.random.default_rng(0)
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(
        rng.standard_normal((ROWS, COLS)), 12, mode="wrap"
    )  # continents: coherent blobs, not salt and pepper
    band = (lat > -60) & (lat < 75)
    land = band & (field > np.quantile(field[band], 1 - 0.29 * ROWS * COLS / band.sum()))
    time_ = pd.date_range("2018-01-01", periods=days)
    with netCDF4.Dataset(path, "w") as nc:
        for d, n in (("time", days), ("y", ROWS), ("x", COLS)):
            nc.createDimension(d, n)
        nc.createVariable("time", "i4", ("time",))[:] = np.arange(days)
        nc["time"].units, nc["time"].calendar = "days since 2018-01-01", "proleptic_gregorian"
        for c in ("y", "x"):
            nc.createVariable(c, "f8", (c,))[:] = g[c].values
        nc.createVariable("land", "u1", ("y", "x"))[:] = land
        nc["land"].flag_values, nc["land"].flag_meanings = (
            np.array([0, 1], "u1"),
            "false true",
        )  # read back as bool
        for c, dim in (("row", "y"), ("col", "x")):
            nc.createVariable(c, "i4", (dim,))[:] = g[c].values
        chunks = (days, 16, 241)
        v3 = {
            k: nc.createVariable(
                k,
                "f4",
                ("time", "y", "x"),
                zlib=True,
                complevel=1,
                chunksizes=chunks,
                fill_value=np.float32(np.nan),
            )
            for k in ("sm", "precip", "pet")
        }
        v2 = {f"wbm_{k}": nc.createVariable(f"wbm_{k}", "f4", ("y", "x")) for k in NAMES}
        split = nc.createVariable(
            "split", "u1", ("time", "y", "x"), zlib=True, complevel=1, chunksizes=chunks
        )
        split.flag_values, split.flag_meanings = (
            np.array(list(SPLIT.values()), "u1"),
            " ".join(SPLIT),
        )
        doy = time_.day_of_year.values
        for y0 in range(0, ROWS, BAND):
            sl = slice(y0, min(y0 + BAND, ROWS))
            h = sl.stop - sl.start
            lb = land[sl]
            P = (rng.random((days, h, COLS)) < 0.3) * rng.gamma(0.8, 8.0, (days, h, COLS))
            season = np.cos(2 * np.pi * (doy[:, None, None] - 200) / 365) * np.sign(lat[sl])[None]
            PET = np.clip(3 + 2.5 * season, 0.2, None) * np.ones((1, h, COLS))
            prm = np.stack(
                [
                    lo + (hi - lo) * rng.uniform(0.3, 0.7, (h, COLS))
                    for lo, hi in (BOUNDS[k] for k in NAMES)
                ]
            ).astype("float32")
            n = h * COLS
            flat = lambda a: np.ascontiguousarray(a.reshape(days, n), "float32")
            truth = wbm_kernel(
                flat(P),
                flat(PET),
                np.zeros((days, n), bool),
                prm.reshape(len(NAMES), n),
                prm[0].ravel() + 0.5 * prm[1].ravel(),
                np.full((days, n), np.nan, "float32"),
                np.empty((days, n), "float32"),
            ).reshape(days, h, COLS)
            obs = np.where(
                (rng.random(truth.shape) < 0.3) & lb[None],
                truth + 0.025 * rng.standard_normal(truth.shape),
                np.nan,
            )
            v3["sm"][:, sl, :] = np.clip(obs, 0.01, 0.6)
            v3["precip"][:, sl, :] = P
            v3["pet"][:, sl, :] = PET
            band_cube = xr.Dataset(
                dict(sm=(("time", "y", "x"), obs), land=(("y", "x"), lb)),
                coords=dict(time=time_, row=("y", g.row.values[sl]), col=("x", g.col.values)),
            )
            split[:, sl, :] = draw_split(band_cube)  # the draw is the same in any window
            for i, k in enumerate(NAMES):
                v2[f"wbm_{k}"][sl, :] = prm[i]
    return int(land.sum()) * days


def _wbm(path, out):
    import dask
    import xarray as xr
    from smap_hybrid.cube import load_cube, write_cube
    from smap_hybrid.wbm import NAMES, run_wbm

    cube = load_cube(path, ("sm", "precip", "pet"), chunks_yx=128)
    params = xr.Dataset({k: cube[f"wbm_{k}"] for k in NAMES})
    res = {}
    r = int(np.argmax(cube.land.values.any(1)))  # rows with land and SMAP days to compile on
    run_wbm(cube.isel(y=slice(r, r + 2)), params.isel(y=slice(r, r + 2))).compute()
    for name, sched in (
        ("serial", dict(scheduler="synchronous")),
        ("dask threads", dict(scheduler="threads")),
    ):
        band = cube.isel(y=slice(128, 256))
        with dask.config.set(**sched):
            t0 = time.perf_counter()
            run_wbm(band, params.isel(y=slice(128, 256))).compute()
            res[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out_ds = cube.assign(
        wbm=run_wbm(cube, params),
        wbm_theta_min=params.theta_min,
        wbm_theta_range=params.theta_range,
    )
    write_cube(out_ds, out)  # computed and written chunk by chunk
    res["global"] = time.perf_counter() - t0
    return res


def _reconstruct(path, run, out):
    import torch
    from smap_hybrid.cube import load_cube
    from smap_hybrid.cluster import reconstruct_to_file

    cube = load_cube(path, ("sm", "precip", "pet", "split"))
    res = {}
    band = cube.isel(
        y=slice(160, 192), time=slice(0, 60)
    )  # one band with land, 60 days: 1 torch thread vs all
    n_all = torch.get_num_threads()
    for n in (n_all, 1, n_all):  # the first run warms up (reads, allocations): not counted
        torch.set_num_threads(n)
        t0 = time.perf_counter()
        reconstruct_to_file(band, run, out, progress=False)
        res[f"{n} threads"] = time.perf_counter() - t0
    import smap_hybrid.reconstruct as rec

    part, default = cube.isel(y=slice(160, 224)), rec.OVERLAP  # 64 rows with land, the year
    for name, share in (("half", 0.5), ("default", default)):  # the tiling before, and today's
        rec.OVERLAP, t0 = share, time.perf_counter()
        reconstruct_to_file(part, run, out, progress=False)
        res[name] = time.perf_counter() - t0
    rec.OVERLAP = default
    t0 = time.perf_counter()
    reconstruct_to_file(cube, run, out, progress=False)  # blocks of 365 days, bands of 16 rows
    res["global"] = time.perf_counter() - t0
    return res


def _train_small(run):
    from smap_hybrid.config import TrainConfig, WBMConfig
    from smap_hybrid.train import train
    from smap_hybrid.twin import TwinConfig, make_twin
    from smap_hybrid.wbm import fit_wbm

    cube = fit_wbm(make_twin(TwinConfig(rows=64, cols=64, days=400)), WBMConfig(wbm_iters=3))
    train(
        cube,
        TrainConfig(epochs=1, batches_per_epoch=1, batch=2, seq_len=30, val_batches=1),
        run,
        progress=False,
    )


def _stage(code):
    "Run `code` (defines `result`) in a fresh process: (result, seconds, peak RSS in GiB)."
    script = (
        f"import json, resource, sys\nsys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from bench.global_scale import _generate, _wbm, _reconstruct, _train_small\n"
        f"{code}\n"
        "print('@@' + json.dumps(dict(result=result, "
        "rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))"
    )
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr[-3000:])
    out = json.loads(next(l for l in r.stdout.splitlines() if l.startswith("@@"))[2:])
    return out["result"], time.perf_counter() - t0, out["rss"] / 2**20


def main(quick=False):
    days = 60 if quick else 365
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        d = Path(d)
        print(
            f"global synthetic cube {ROWS} x {COLS} x {days} days ({os.cpu_count()} cores); each "
            "stage in its own process:"
        )
        land_days, s, rss = _stage(f"result = _generate({str(d / 'cube.nc')!r}, {days})")
        print(
            f"  generate   {s:7.1f} s  peak {rss:5.2f} GiB  ({land_days:.3g} land pixel-days, "
            f"{(d / 'cube.nc').stat().st_size / 2**30:.2f} GiB on disk)"
        )
        res, s, rss = _stage(f"result = _wbm({str(d / 'cube.nc')!r}, {str(d / 'cube_wbm.nc')!r})")
        print(
            f"  WBM        {s:7.1f} s  peak {rss:5.2f} GiB  (global forward run + write "
            f"{res['global']:.1f} s; 128-row band: "
            f"dask threads {res['serial'] / res['dask threads']:.2f}x the serial run)"
        )
        _stage(f"_train_small({str(d / 'run')!r}); result = 0")
        rec, s, rss = _stage(
            f"result = _reconstruct({str(d / 'cube_wbm.nc')!r}, {str(d / 'run')!r}, "
            f"{str(d / 'product.nc')!r})"
        )
        sec, half, default = rec.pop("global"), rec.pop("half"), rec.pop("default")
        threads = sorted(rec.items())
        print(
            f"  reconstruct{s:7.1f} s  peak {rss:5.2f} GiB  (global {sec:.1f} s, "
            f"{land_days / sec:.3g} land pixel-days/s, default network (16 px, look-ahead), "
            f"blocks of 365 days; one band x 60 days: {threads[-1][0]} "
            f"{threads[0][1] / threads[-1][1]:.2f}x {threads[0][0]})"
        )
        print(
            f"  tiles sharing a quarter (default) against half-overlapping tiles (before), 64 rows "
            f"x {days} days in the same process: {half / default:.2f}x ({default:.1f} s, was "
            f"{half:.1f} s)"
        )
        total = res["global"] + sec
        print(
            f"projected global 10-year job on this machine (WBM + reconstruction, linear in "
            f"days): {10 * total * 365 / days / 3600:.2f} h; the reconstruction holds one band x "
            "one block of days and carries each tile's recurrent state from block to block, and "
            "a block also reads the 365 days after it for its look-ahead, so a decade's blocks "
            "hold up to two years of a band's inputs: more memory than the one-year peak."
        )
