"""One experiment end to end — `run_experiment`: the split and the WBM, training, the spread
calibration, the validation product and every baseline's scores — on the twin at CPU settings,
per patch scale. The reference is the 32 px experiment measured in the same run; each stage's
share of the time is printed beside the total."""

import os
import tempfile
import time
from pathlib import Path

import torch

from smap_hybrid.config import ExperimentConfig, TrainConfig, WBMConfig
from smap_hybrid.experiment import run_experiment
from smap_hybrid.twin import TwinConfig


def main(quick=False):
    twin = TwinConfig(rows=32, cols=32, days=400) if quick else TwinConfig()
    train = dict(epochs=2, batches_per_epoch=4) if quick else dict(epochs=10)
    seconds = {}
    print(
        f"run_experiment on the twin {twin.rows} x {twin.cols} x {twin.days} days, {train} "
        f"({torch.get_num_threads()} threads, {os.cpu_count()} cores):"
    )
    with tempfile.TemporaryDirectory() as d:
        for scale in (16, 32, 64):
            cfg = ExperimentConfig(train=TrainConfig(scale=scale, **train), wbm=WBMConfig())
            t0 = time.perf_counter()
            m = run_experiment(cfg, twin, Path(d) / str(scale), cache_dir=Path(d) / "cache")
            seconds[scale] = time.perf_counter() - t0
            row = next(r for r in m["table"] if r["estimator"] == "hybrid")
            print(
                f"  {scale:2d} px  {seconds[scale]:7.1f} s  (ubRMSE {row['ubRMSE']:.4f} on "
                "withheld test days, twin)"
            )
        for scale, s in seconds.items():
            print(
                f"  {scale:2d} px  {s / seconds[32]:.2f}x the 32 px experiment (16 px also pays "
                "the shared WBM calibration)"
            )
