"""WBM forward-run throughput (pixel-days per second) on this machine, all measured in the same run:
the reference — the model as a plain per-pixel Python loop — a plain vectorised numpy loop (time
loop in Python, numpy over pixels), the torch step (the calibration path, no gradients), and the
compiled kernel `wbm_kernel` (the forward path); plus the calibration time of the twin default.
Goal (issue 4): at least 4e8 pixel-days/s for the kernel on this 2-core machine."""

import math
import os
import time

import numpy as np
import torch

from smap_hybrid.wbm import BOUNDS, NAMES, calibrate, wbm_kernel, wbm_step
from smap_hybrid.twin import make_twin


def inputs(T, N, seed=0):
    rng = np.random.default_rng(seed)
    P = np.where(rng.random((T, N)) < 0.3, rng.exponential(8, (T, N)), 0).astype("float32")
    PET = rng.uniform(0.5, 7, (T, N)).astype("float32")
    prm = np.stack(
        [rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo), N) for lo, hi in BOUNDS.values()]
    ).astype("float32")
    return (
        P,
        PET,
        np.zeros((T, N), bool),
        prm,
        (prm[0] + 0.5 * prm[1]).astype("float32"),
        np.full((T, N), np.nan, "float32"),
    )


def python_loop(P, PET, prm, theta0, out):
    "The reference: the model, pixel by pixel and day by day, in plain Python."
    T, N = P.shape
    for j in range(N):
        tmin, rng, dz, alpha, beta, sstar, k, m = (float(v) for v in prm[:, j])
        th = float(theta0[j])
        for t in range(T):
            s = min(max((th - tmin) / rng, 1e-6), 1.0)
            w = min(th + P[t, j] * (1 - math.pow(s, alpha)) / dz, tmin + rng)
            w -= (
                min(
                    beta * PET[t, j] * min(max((w - tmin) / rng / sstar, 0.0), 1.0), (w - tmin) * dz
                )
                / dz
            )
            w -= min(k * math.pow(max((w - tmin) / rng, 1e-6), m), (w - tmin) * dz) / dz
            out[t, j] = th = w
    return out


def numpy_loop(P, PET, prm, theta0, out):
    "A plain vectorised numpy loop: Python over days, numpy over pixels."
    tmin, rng, dz, alpha, beta, sstar, k, m = prm
    th = theta0.copy()
    for t in range(P.shape[0]):
        s = np.clip((th - tmin) / rng, 1e-6, 1)
        w = np.minimum(th + P[t] * (1 - s**alpha) / dz, tmin + rng)
        w -= (
            np.minimum(beta * PET[t] * np.clip((w - tmin) / rng / sstar, 0, 1), (w - tmin) * dz)
            / dz
        )
        w -= np.minimum(k * np.maximum((w - tmin) / rng, 1e-6) ** m, (w - tmin) * dz) / dz
        out[t] = th = w
    return out


def rate(fn, pixel_days, repeat=3):
    return pixel_days / min(_timed(fn) for _ in range(repeat))


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(quick=False):
    T, N = 365, (20_000 if quick else 200_000)
    P, PET, fz, prm, th0, obs = inputs(T, N)
    out = np.empty_like(P)
    wbm_kernel(
        P[:2, :8], PET[:2, :8], fz[:2, :8], prm[:, :8], th0[:8], obs[:2, :8], out[:2, :8]
    )  # compile
    n_ref = 100
    ref = rate(
        lambda: python_loop(
            P[:, :n_ref], PET[:, :n_ref], prm[:, :n_ref], th0[:n_ref], out[:, :n_ref]
        ),
        T * n_ref,
        1,
    )
    npy = rate(lambda: numpy_loop(P, PET, prm, th0, out), T * N, 1)
    nb = rate(lambda: wbm_kernel(P, PET, fz, prm, th0, obs, out), T * N)
    np.testing.assert_allclose(
        out[:, :n_ref],
        python_loop(
            P[:, :n_ref], PET[:, :n_ref], prm[:, :n_ref], th0[:n_ref], np.empty((T, n_ref))
        ),
        atol=1e-4,
    )
    tp = {k: torch.from_numpy(prm[i]) for i, k in enumerate(NAMES)}
    tP, tPET = torch.from_numpy(P), torch.from_numpy(PET)

    def run_torch():
        with torch.no_grad():
            th = torch.from_numpy(th0)
            for t in range(T):
                th, _ = wbm_step(th, tP[t], tPET[t], None, tp)

    tr = rate(run_torch, T * N, 1)
    print(f"wbm forward ({T} days x {N} pixels, {os.cpu_count()} cores, float32):")
    for label, r in (
        ("per-pixel Python loop (reference)", ref),
        ("numpy, vectorised over pixels", npy),
        ("torch, vectorised over pixels", tr),
        ("wbm_kernel (numba, SIMD over pixels)", nb),
    ):
        print(f"  {label:38s} {r:10.3e} pixel-days/s  {r / ref:8.0f}x reference")
    print(
        f"  kernel vs numpy loop: {nb / npy:.1f}x; goal 4e8 pixel-days/s: "
        f"{'met' if nb >= 4e8 else 'NOT met'}"
    )
    print(f"  global land, 10 years (4e8 pixel-days), kernel: {4e8 / nb:.2f} s")
    if not quick:
        twin = make_twin()
        res = calibrate(twin, iters=40)
        print(
            f"  calibration of the twin default ({int(twin.land.sum())} pixels x "
            f"{twin.sizes['time']} days, 40 iterations): {res.seconds:.1f} s"
        )
