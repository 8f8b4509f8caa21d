"""Reconstruction as strips (chapter 15a) on the global 406 x 964 EASE-Grid 2.0: one process (torch
on every core) against a dask `LocalCluster` of two single-threaded workers, measured in the same
run on the synthetic global cube of `global_scale` (one year; `--quick`: 60 days). Prints the
halo overhead (share of recomputed pixel-days) per patch scale, the ratio of the two wall times,
and the time projected for N workers from the measured cost per band and the assembly time."""

import os
import re
import tempfile
import time
from pathlib import Path

from bench.global_scale import COLS, ROWS, _generate, _train_small, _wbm


def main(quick=False):
    from distributed import Client, LocalCluster

    from smap_hybrid.cluster import halo_share, n_bands, reconstruct_strips, strip_time
    from smap_hybrid.config import TrainConfig
    from smap_hybrid.cube import load_cube
    from smap_hybrid.cluster import reconstruct_to_file

    days = 60 if quick else 365
    print(f"strips: halo overhead on the global grid ({ROWS} rows), share of pixel-days recomputed")
    print("  strips " + "".join(f"{n:>7d}" for n in (2, 4, 8, 16, 32)))
    for s in (16, 32, 64):
        print(
            f"  {s:2d} px  " + "".join(f"{halo_share(ROWS, s, n):7.3f}" for n in (2, 4, 8, 16, 32))
        )
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        d = Path(d)
        land_days = _generate(d / "cube.nc", days)
        _wbm(d / "cube.nc", d / "cube_wbm.nc")
        _train_small(d / "run")  # the default network: its weights do not change the cost
        cube = load_cube(d / "cube_wbm.nc", ("sm", "precip", "pet", "split"))
        t0 = time.perf_counter()
        reconstruct_to_file(cube, d / "run", d / "one.nc", progress=False)
        one = time.perf_counter() - t0
        print(
            f"  one process ({os.cpu_count()} torch threads): {one:.1f} s (reference)", flush=True
        )
        logs = []
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as lc:
            with Client(lc) as client:
                t0 = time.perf_counter()
                reconstruct_strips(cube, d / "run", d / "two.nc", client=client, log=logs.append)
                two = time.perf_counter() - t0
    strips, assembly = map(
        float, re.search(r"strips ([\d.]+) s, assembly ([\d.]+) s", logs[-1]).groups()
    )
    scale = TrainConfig().scale
    bands = n_bands(ROWS, scale)
    per_band = strips * 2 / (bands * (1 + halo_share(ROWS, scale, 2)))  # worker-seconds a band
    print(
        f"global grid {ROWS} x {COLS} x {days} days ({land_days:.3g} land pixel-days), "
        f"{os.cpu_count()} cores, {scale} px, {bands} bands:"
    )
    print(
        f"  2 workers x 1 thread (LocalCluster)   {two:7.1f} s  {one / two:.2f}x the reference "
        f"(strips {strips:.1f} s, assembly {assembly:.1f} s)"
    )
    print(
        f"  measured cost: {per_band:.2f} worker-seconds per band of {days} days; projected "
        "wall time on N single-thread workers (strips + this assembly):"
    )
    for n in (4, 8, 16, 32, bands, 2 * bands):  # strip_time stops falling at one band a strip
        t = strip_time(n, bands, per_band, assembly)
        print(f"    N={n:2d}  {t:7.1f} s  ({one / t:.1f}x the reference)")
