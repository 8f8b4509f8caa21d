"""Reconstruction throughput (land pixel-days per second) on CPU for patches of 16, 32 and 64 pixels
(closed loop, the demo's model size: hidden (16, 16), K=3), and the projected time for one global
year. The reference is the 32 px scale measured in the same run.  Global land on the 36 km EASE-
Grid 2.0 is taken as 29% of its 406 x 964 cells (about 1.1e5 cells; the share of land on Earth's
surface) — an estimate, stated as such. Each scale is run with the network's body in float32
and in bfloat16 (forced through `SMAP_HYBRID_PRECISION`; emulated where the CPU lacks native
bf16), and the ratio is printed: the mixture's statistics are float32 in both."""

import os
import tempfile
from unittest import mock
import time
from pathlib import Path

import torch

from smap_hybrid.config import ExperimentConfig, TrainConfig, WBMConfig
from smap_hybrid.experiment import load_data, wbm_cube
from smap_hybrid.model import PRECISION_ENV, bf16_supported
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
        f"{os.cpu_count()} cores; native CPU bf16: {bf16_supported('cpu')}); "
        f"domain 128 x 128 x {days} days ({land_days:.3g} land pixel-days):"
    )
    with tempfile.TemporaryDirectory() as d:
        for scale in (16, 32, 64):
            cfg = TrainConfig(
                scale=scale, epochs=1, batches_per_epoch=1, batch=2, seq_len=30, val_batches=1
            )
            train(cube, cfg, Path(d) / str(scale), progress=False)  # weights do not change the cost
            for precision in ("fp32", "bf16"):
                with mock.patch.dict(os.environ, {PRECISION_ENV: precision}):
                    t0 = time.perf_counter()
                    reconstruct(cube, Path(d) / str(scale))
                rates[scale, precision] = land_days / (time.perf_counter() - t0)
        for (scale, precision), r in rates.items():
            print(
                f"  {scale:2d} px {precision}  {r:10.3e} land pixel-days/s  "
                f"({r / rates[32, precision]:.2f}x the 32 px rate at {precision}; bf16 "
                f"{rates[scale, 'bf16'] / rates[scale, 'fp32']:.2f}x fp32)  "
                f"global year (~{global_land_days:.2g} land pixel-days): "
                f"{global_land_days / r / 60:.0f} min on this machine"
            )
