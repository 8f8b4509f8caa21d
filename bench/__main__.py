"""Run every benchmark: `python -m bench [NAME ...] [--quick]` (make bench). Each prints ratios
against a reference measured in the same run."""

import argparse
import importlib

BENCHES = ["ingest", "wbm", "model", "reconstruct", "experiment", "global_scale", "strips", "gpu",
           "grid_9km"]

if __name__ == "__main__":  # dask workers spawned by a benchmark import this module again
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument(
        "names", nargs="*", default=BENCHES, help=f"benchmarks to run (default: all of {BENCHES})"
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    a = p.parse_args()
    for name in a.names:
        importlib.import_module(f"bench.{name}").main(quick=a.quick)
