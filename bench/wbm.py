"""WBM forward-run throughput (pixel-days per second) on this machine: the numba kernel (numpy
arrays, parallel over pixels), the torch step (vectorised over pixels, time loop in Python), and
the reference — the same kernel as a plain per-pixel Python loop (`wbm_kernel.py_func`) —
measured in the same run; plus the calibration time of the twin default."""
import os
import time

import numpy as np
import torch

from smap_hybrid.wbm import BOUNDS, NAMES, calibrate, to_physical, wbm_kernel, wbm_step
from smap_hybrid.twin import make_twin


def inputs(T, N, seed=0):
    rng = np.random.default_rng(seed)
    P = np.where(rng.random((T, N)) < 0.3, rng.exponential(8, (T, N)), 0).astype("float32")
    PET = rng.uniform(0.5, 7, (T, N)).astype("float32")
    prm = np.stack([rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo), N) for lo, hi in BOUNDS.values()]).astype("float32")
    return P, PET, np.zeros((T, N), bool), prm, (prm[0] + 0.5 * prm[1]).astype("float32"), np.full((T, N), np.nan, "float32")


def rate(fn, pixel_days, repeat=3):
    best = min(_timed(fn) for _ in range(repeat))
    return pixel_days / best


def _timed(fn):
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0


def main(quick=False):
    T, N = 365, (20_000 if quick else 200_000)
    P, PET, fz, prm, th0, obs = inputs(T, N)
    out = np.empty_like(P)
    wbm_kernel(P[:2, :8], PET[:2, :8], fz[:2, :8], prm[:, :8], th0[:8], obs[:2, :8], out[:2, :8])  # compile
    n_ref = 200
    ref = rate(lambda: wbm_kernel.py_func(P[:, :n_ref], PET[:, :n_ref], fz[:, :n_ref], prm[:, :n_ref], th0[:n_ref], obs[:, :n_ref], out[:, :n_ref]), T * n_ref, 1)
    nb = rate(lambda: wbm_kernel(P, PET, fz, prm, th0, obs, out), T * N)
    tp = {k: torch.from_numpy(prm[i]) for i, k in enumerate(NAMES)}
    tP, tPET = torch.from_numpy(P), torch.from_numpy(PET)

    def run_torch():
        with torch.no_grad():
            th = torch.from_numpy(th0)
            for t in range(T):
                th, _ = wbm_step(th, tP[t], tPET[t], None, tp)
    tr = rate(run_torch, T * N, 1)
    print(f"wbm forward ({T} days x {N} pixels, {os.cpu_count()} cores, float32):")
    print(f"  per-pixel Python loop (reference)  {ref:12.3e} pixel-days/s   1.0x")
    print(f"  torch, vectorised over pixels      {tr:12.3e} pixel-days/s   {tr / ref:8.0f}x")
    print(f"  numba kernel, parallel over pixels {nb:12.3e} pixel-days/s   {nb / ref:8.0f}x")
    print(f"  global land 10 years (4e8 pixel-days) with the numba kernel: {4e8 / nb:.1f} s")
    if not quick:
        twin = make_twin()
        res = calibrate(twin, iters=40)
        print(f"  calibration of the twin default ({int(twin.land.sum())} pixels x {twin.sizes['time']} days, 40 iterations): {res.seconds:.1f} s")
