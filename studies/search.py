"""The search of the defaults on a real cube: every configuration of `GRID` trained once, its
spread calibrated, reconstructed in each mode it serves and scored on the withheld SMAP test
days, configurations in parallel processes on one device.

    python -m studies.search --cube CUBE.nc --out DIR [--device cuda] [--jobs 16] [--budget 300]

Writes DIR/results.csv (one row per configuration, mode and reference: pooled scores and
medians over pixels), DIR/by_gap.csv, and each run folder (weights, run.json, history), so
ensembles can be pooled from the seeds afterwards. Configurations not started within
`--budget` seconds are left out and listed."""

import argparse
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

# rounds 1-3 ran with the defaults of that time, written out here so that they rerun the same;
# rounds 1-4 ran with early stopping on the validation NLL of the `both` direction alone, and
# with the group norm the network had until round 5
EARLIER = dict(scale=16, epochs=20, batches_per_epoch=8, patience=4, forward_share=0.25,
               norm=True)
GRID = {
    "landed (forward only)": dict(look_ahead=False),
    "look-ahead": {},
    "look-ahead, holdout 0.15": dict(holdout=0.15),
    "look-ahead, holdout 0.5": dict(holdout=0.5),
    "look-ahead, 8 px": dict(scale=8),
    "look-ahead, hidden 32x32": dict(hidden=(32, 32)),
    "look-ahead, hidden 32": dict(hidden=(32,)),
    "look-ahead, K=5": dict(k=5),
    "look-ahead, 90-day sequences": dict(seq_len=90),
    "look-ahead, 40 epochs": dict(epochs=40, patience=6),
    "look-ahead, seed 1": dict(seed=1),
    "look-ahead, seed 2": dict(seed=2),
    "look-ahead, seed 3": dict(seed=3),
    "look-ahead, seed 4": dict(seed=4),
    "open, landed": dict(loop="open", look_ahead=False),
    "open": dict(loop="open"),
    "open, 40 epochs": dict(loop="open", epochs=40, patience=6),
    "open, 90-day sequences": dict(loop="open", seq_len=90),
    "open, hidden 32x32": dict(loop="open", hidden=(32, 32)),
    "open, no scheduled sampling ramp": dict(loop="open", ss_max=0.5),
    "look-ahead, hidden 32x32, 40 epochs": dict(hidden=(32, 32), epochs=40, patience=6),
    "open, 90-day sequences, 40 epochs": dict(loop="open", seq_len=90, epochs=40, patience=6),
}


FOLLOW_UP = {    # the second round: more training, the forward share, seeds for the ensemble curve
    "look-ahead, 40 epochs, forward share 0.5": dict(epochs=40, patience=6, forward_share=0.5),
    "look-ahead, 40 epochs, forward share 0.5, seed 1": dict(epochs=40, patience=6,
                                                            forward_share=0.5, seed=1),
    "look-ahead, 40 epochs, seed 1": dict(epochs=40, patience=6, seed=1),
    "look-ahead, 40 epochs, seed 2": dict(epochs=40, patience=6, seed=2),
    "landed, 40 epochs": dict(look_ahead=False, epochs=40, patience=6),
    "open, 40 epochs, seed 1": dict(loop="open", epochs=40, patience=6, seed=1),
    "look-ahead, hidden 32, 40 epochs": dict(hidden=(32,), epochs=40, patience=6),
    "look-ahead, 40 epochs, forward share 0.5, seed 2": dict(epochs=40, patience=6,
                                                            forward_share=0.5, seed=2),
}
LONGER = {      # the third round, on the CPU: one longer-trained network against the ensemble
    "look-ahead, 40 epochs of 24 batches, forward share 0.5": dict(
        epochs=40, patience=6, forward_share=0.5, batches_per_epoch=24),
    "look-ahead, 40 epochs of 16 batches, forward share 0.5": dict(
        epochs=40, patience=6, forward_share=0.5, batches_per_epoch=16),
}
AVERAGE = {     # the fourth round, on the CPU: the defaults, with and without averaged weights
    "defaults without averaging, seed 1": dict(average=0.0, seed=1),
    "defaults (weights averaged, 0.98)": dict(average=0.98),
    "defaults (weights averaged, 0.98), seed 1": dict(average=0.98, seed=1),
}
GROUP_NORM = {  # the fifth round, on the CPU: the defaults with and without the group norm
    f"{loop} loop, group norm {'on' if on else 'off'}, seed {seed}": dict(loop=loop, norm=on,
                                                                         seed=seed)
    for loop in ("closed", "open") for on in (True, False) for seed in range(3)}
GRIDS = dict(first=(EARLIER, GRID), follow_up=(EARLIER, FOLLOW_UP), longer=(EARLIER, LONGER),
             average=(dict(norm=True), AVERAGE), group_norm=({}, GROUP_NORM))


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def run_one(name, overrides, cube_path, out, device, common, train_only=False, base=None):
    "Train, calibrate, reconstruct every mode, score: rows for results.csv and by_gap.csv."
    import torch
    import xarray as xr

    from smap_hybrid.config import ReconstructConfig, TrainConfig
    from smap_hybrid.cube import load_cube
    from smap_hybrid.validation import validate
    from smap_hybrid.metrics import skill_by_gap
    from smap_hybrid.reconstruct import reconstruct
    from smap_hybrid.spread import calibrate_spread, modes
    from smap_hybrid.split import days_since_observation, roles
    from smap_hybrid.train import train

    torch.set_num_threads(1)
    cube = load_cube(cube_path, ("sm", "precip", "pet", "split", "wbm")).load()
    cfg = TrainConfig(**{**(base or {}), **overrides, **common, "device": device})
    rd, t0 = Path(out) / "runs" / slug(name), time.perf_counter()
    train(cube, cfg, rd, progress=False)
    t_train = time.perf_counter() - t0
    if train_only:
        return [dict(config=name, train_s=round(t_train, 1), device=device)], []
    calibrate_spread(cube, rd, device=device, progress=False)
    r = roles(cube)
    test = xr.DataArray(r.test, dims=cube.sm.dims, coords=cube.sm.coords)
    rows, gaps = [], []
    for loop, direction in modes(cfg):
        prod = reconstruct(cube, rd, ReconstructConfig(direction=direction), device=device)
        mode = f"{loop}/{prod.attrs['direction']}"
        meta = dict(config=name, mode=mode, train_s=round(t_train, 1), device=device,
                    precision=prod.attrs["network_precision"], **{k: str(v) for k, v in
                                                                  overrides.items()})
        rows += [dict(meta, **row) for row in validate(cube, prod, with_baselines=False)
                 .to_dict("records")]
        by = skill_by_gap({"hybrid": prod.sm_model}, cube.sm, test,
                          days_since_observation(r.fed))
        gaps += [dict(meta, **row) for row in by.to_dict("records")]
    return rows, gaps


def main():
    p = argparse.ArgumentParser(prog="python -m studies.search")
    p.add_argument("--cube", required=True, help="a cube with its split and WBM (fit_wbm)")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    p.add_argument("--budget", type=float, default=300, help="seconds to start runs in")
    p.add_argument("--only", nargs="*", help="names of GRID to run (default: all)")
    p.add_argument("--grid", default="first", choices=list(GRIDS))
    p.add_argument("--train-only", action="store_true", help="train; score later (evalruns)")
    p.add_argument("--set", nargs="*", default=[], help="KEY=VALUE for every run (a smoke run)")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    base, grid = GRIDS[a.grid]
    grid = {k: v for k, v in grid.items() if not a.only or k in a.only}
    common = {k: json.loads(v) for k, v in (kv.split("=") for kv in a.set)}
    t0, rows, gaps, failed = time.perf_counter(), [], [], []
    with ProcessPoolExecutor(a.jobs, mp_context=get_context("spawn")) as pool:
        futs = {pool.submit(run_one, k, v, a.cube, out, a.device, common,
                            a.train_only, base): k for k, v in grid.items()}
        for f in as_completed(futs):
            try:
                r, g = f.result()
                rows += r
                gaps += g
                print(f"{time.perf_counter() - t0:6.0f} s  done: {futs[f]}", flush=True)
            except Exception:
                failed.append(futs[f])
                print(f"FAILED {futs[f]}:\n{traceback.format_exc()}", flush=True)
            pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
            pd.DataFrame(gaps).to_csv(out / "by_gap.csv", index=False)
            if time.perf_counter() - t0 > a.budget:
                for g in futs:
                    g.cancel()
    res = pd.DataFrame(rows)
    if a.train_only:
        print(res.to_string(index=False))
        return
    own = res[(res.reference == "withheld SMAP days")]
    cols = ["config", "mode", "ubRMSE_px", "R_px", "KGE_px", "ubRMSE", "R", "coverage50",
            "coverage90", "CRPS", "train_s"]
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(own[cols].round(4).to_string(index=False))
    print(json.dumps(dict(failed=failed, not_run=[k for k in grid if k not in
                                                  set(res.get("config", []))])))


if __name__ == "__main__":
    main()
