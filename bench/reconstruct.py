"""Reconstruction throughput (land pixel-days per second) on CPU for patches of 16, 32 and 64 pixels
(closed loop, the demo's model size: hidden (16, 16), K=3), and the projected time for one global
year. The reference is the 32 px scale measured in the same run.  Global land on the 36 km EASE-
Grid 2.0 is taken as 29% of its 406 x 964 cells (about 1.1e5 cells; the share of land on Earth's
surface) — an estimate, stated as such."""

import os
import tempfile
import time
from pathlib import Path

import torch

from smap_hybrid.config import ExperimentConfig, TrainConfig, WBMConfig
from smap_hybrid.experiment import load_data, wbm_cube
from smap_hybrid.reconstruct import reconstruct
from smap_hybrid.train import train
from smap_hybrid.twin import TwinConfig


def main(quick=False):
    days = 120 if quick else 365
    twin = load_data(TwinConfig(rows=128, cols=128, days=days))
    cube = wbm_cube(twin, ExperimentConfig(wbm=WBMConfig(wbm_iters=5)))
    land_days = int(cube.land.sum()) * days
    global_land_days = 0.29 * 406 * 964 * 365
    rates = {}
    print(
        f"reconstruction, closed loop, hidden (16, 16), K=3 ({torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores); "
        f"domain 128 x 128 x {days} days ({land_days:.3g} land pixel-days):"
    )
    with tempfile.TemporaryDirectory() as d:
        for scale in (16, 32, 64):
            cfg = TrainConfig(
                scale=scale, epochs=1, batches_per_epoch=1, batch=2, seq_len=30, val_batches=1
            )
            train(cube, cfg, Path(d) / str(scale), progress=False)  # weights do not change the cost
            t0 = time.perf_counter()
            reconstruct(cube, Path(d) / str(scale))
            s = time.perf_counter() - t0
            rates[scale] = land_days / s
        for scale, r in rates.items():
            print(
                f"  {scale:2d} px  {r:10.3e} land pixel-days/s  ({r / rates[32]:.2f}x the 32 px "
                "rate)  "
                f"global year (~{global_land_days:.2g} land pixel-days): "
                f"{global_land_days / r / 60:.0f} min on this machine"
            )
