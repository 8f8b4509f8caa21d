"""The cost of a 9 km run (SPL3SMP_E) per area against 36 km (SPL3SMP): the same box and days
of the twin, written as granules of each grid and run through every stage — ingest with
forcing, split + WBM, training, the product — with the same settings. The reference is the
36 km run measured in the same process; the ratio per area is the ratio of the two runs (same
box), the ratio per cell divides it by the 16 times as many cells. Needs the v9 DMR of the
shared samples (the granules' layout)."""

import tempfile
import time
from pathlib import Path

from smap_hybrid.config import ReconstructConfig, SplitConfig, TrainConfig, WBMConfig
from smap_hybrid.data import open_cube
from smap_hybrid.reconstruct import reconstruct
from smap_hybrid.regrid import attach_forcing
from smap_hybrid.smap import sample_data
from smap_hybrid.train import train
from smap_hybrid.twin import TwinConfig, make_twin, write_twin_granules
from smap_hybrid.wbm import fit_wbm


def stages(product, cells, days, folder, dmr):
    "Seconds per stage of one product's run over the twin's box, and its land cell count."
    twin = make_twin(TwinConfig(rows=cells, cols=cells, days=days, start="2019-04-01",
                                product=product, outages=()))
    write_twin_granules(twin, folder, dmr)
    box = (float(twin.lon.min()), float(twin.lat.min()), float(twin.lon.max()),
           float(twin.lat.max()))
    t, out = {}, {}
    t0 = time.perf_counter()
    cube = attach_forcing(open_cube(folder / "smap", bbox=box, product=product),
                          folder / "forcing").load()
    t["ingest + forcing"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cube = fit_wbm(cube, WBMConfig(wbm_iters=20), SplitConfig())
    t["split + WBM"] = time.perf_counter() - t0
    cfg = TrainConfig(epochs=3, batches_per_epoch=4, batch=4, seq_len=30, val_batches=1)
    t0 = time.perf_counter()
    train(cube, cfg, folder / "run", progress=False)
    t["training (fixed batches)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reconstruct(cube, folder / "run", ReconstructConfig(all_observations=True))
    t["product"] = time.perf_counter() - t0
    out["land cells"] = int(cube.land.sum())
    return t, out


def main(quick=False):
    shared = sample_data()
    dmr = shared / "smap_l3_v9_layout" / "SC_SPL3SMP_009.dmr" if shared else None
    if dmr is None or not dmr.exists():
        print("grid_9km: skipped, the v9 DMR of ../shared/data is not there")
        return
    days, cells36 = (60, 6) if quick else (180, 32)
    with tempfile.TemporaryDirectory() as d:
        t36, n36 = stages("SPL3SMP", cells36, days, Path(d) / "36", dmr)
        t9, n9 = stages("SPL3SMP_E", 4 * cells36, days, Path(d) / "9", dmr)
    print(f"a 9 km run against a 36 km run over the same box ({cells36} x {cells36} cells of 36 "
          f"km, {4 * cells36} x {4 * cells36} of 9 km; {days} days of the twin; "
          f"{n36['land cells']} and {n9['land cells']} land cells):")
    per = n9["land cells"] / n36["land cells"]
    for k in t36:
        print(f"  {k:26s} 36 km {t36[k]:7.1f} s   9 km {t9[k]:7.1f} s   per area "
              f"{t9[k] / t36[k]:5.1f}x   per land cell {t9[k] / t36[k] / per:5.2f}x")
    tot36, tot9 = sum(t36.values()), sum(t9.values())
    print(f"  {'all stages':26s} 36 km {tot36:7.1f} s   9 km {tot9:7.1f} s   per area "
          f"{tot9 / tot36:5.1f}x   per land cell {tot9 / tot36 / per:5.2f}x")
