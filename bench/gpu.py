"""GPU figures (issue 25), prepared to run once wherever a GPU is lent: `python -m bench gpu`.
1. Training throughput of the default network (`TrainConfig()`: hidden 16 x 16, look-ahead,
   K = 3) through the real training step (`Sequence` rollout, `batch_loss`, AdamW) at 16, 32
   and 64 px: patches/s, and the convolutions' arithmetic as a share of the GPU's dense bf16
   peak (datasheet figures below; the convolutions are nearly all of the step's arithmetic).
   The reference is the same step in fp32 on the same GPU, measured in the same run.
2. The global year (`global_scale`'s synthetic 406 x 964 x 365 cube) reconstructed on the GPU
   (bf16 body), its time against the CPU figure of the same benchmark run here.
Without CUDA it measures nothing and says so: GPU figures are never simulated."""

import os
import tempfile
import time
from pathlib import Path

import torch

PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12}
KERNEL = 3  # the ConvLSTM's convolution (chapter 10's default)


def conv_flops(cfg, size: int, batch: int, days: int) -> float:
    "FLOPs of one training step's convolutions and head: forward, and backward as twice that."
    from smap_hybrid.features import n_inputs

    chans = (n_inputs(cfg),) + tuple(cfg.hidden)
    per_px = sum(
        2 * (chans[i] + h) * 4 * h * KERNEL**2 for i, h in enumerate(cfg.hidden)
    ) + 2 * cfg.hidden[-1] * 3 * cfg.k
    return 3.0 * per_px * size * size * batch * days


def peak_bf16(name: str) -> float | None:
    "The datasheet dense bf16 peak of a GPU named `name` (None when not listed)."
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def step_time(cfg, size: int, device: str, reps: int = 20) -> float:
    "Seconds per training step (the real one: rollout, masked NLL, backward, AdamW)."
    from smap_hybrid.features import DYNAMIC, STATIC
    from smap_hybrid.runs import build_model
    from smap_hybrid.train import Sequence, batch_loss

    g = torch.Generator().manual_seed(0)
    B, L = cfg.batch, cfg.seq_len
    shape = (B, L, size, size)
    b = dict(
        feats=torch.randn(B, L, len(DYNAMIC) + len(STATIC), size, size, generator=g),
        resid=torch.randn(shape, generator=g) * 0.5,
        fed=torch.rand(shape, generator=g) < 0.3,
        target=torch.rand(shape, generator=g) < 0.3,
        valid=torch.zeros(shape, dtype=torch.bool),
    )
    seq = Sequence(build_model(cfg).to(device), cfg.gap_inputs)
    opt = torch.optim.AdamW(seq.parameters(), cfg.lr)
    gen = torch.Generator(device).manual_seed(0)

    def one():
        loss = batch_loss(seq, b, cfg, device, gen=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    for _ in range(3):  # warm-up: kernels chosen, memory pooled
        one()
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        one()
    sync()
    return (time.perf_counter() - t0) / reps


def main(quick=False):
    import dataclasses

    from smap_hybrid.config import TrainConfig
    from smap_hybrid.model import PRECISION_ENV

    if not torch.cuda.is_available():
        print("gpu: no CUDA device here, nothing measured (GPU figures are never simulated)")
        return
    os.environ.pop(PRECISION_ENV, None)
    name = torch.cuda.get_device_name()
    peak = peak_bf16(name)
    print(f"gpu: {name}; default network, real training step, batch {TrainConfig().batch}:")
    for size in (16, 32, 64):
        base = TrainConfig(scale=size, device="cuda")
        t = {p: step_time(dataclasses.replace(base, precision=p), size, "cuda")
             for p in ("fp32", "bf16")}
        flops = conv_flops(base, size, base.batch, base.seq_len)
        share = f"{flops / t['bf16'] / peak:.1%} of the bf16 peak" if peak else "peak unknown"
        print(
            f"  {size:2d} px  bf16 {base.batch / t['bf16']:8.1f} patches/s ({share}), "
            f"{t['fp32'] / t['bf16']:.2f}x the fp32 step on the same GPU"
        )
    from bench.global_scale import _generate, _train_small, _wbm

    days = 60 if quick else 365
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        d = Path(d)
        land_days = _generate(d / "cube.nc", days)
        _wbm(d / "cube.nc", d / "cube_wbm.nc")
        _train_small(d / "run")
        from smap_hybrid.cube import load_cube
        from smap_hybrid.cluster import reconstruct_to_file

        cube = load_cube(d / "cube_wbm.nc", ("sm", "precip", "pet", "split"))
        t0 = time.perf_counter()
        reconstruct_to_file(cube, d / "run", d / "product.nc", device="cuda", progress=False)
        sec = time.perf_counter() - t0
    print(
        f"  global {days} days on the GPU: {sec:.1f} s ({land_days / sec:.3g} land pixel-days/s; "
        f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB)"
    )
