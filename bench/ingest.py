"""Ingest throughput: a year of daily v9-layout SPL3SMP granules (written from the real DMR) read
into one QC'd cube (serial versus dask threads and processes, 2 workers) and written to netCDF.
The reference is the serial (synchronous scheduler) run measured in the same process."""

import os
import sys
import tempfile
import time
from pathlib import Path

import dask
import numpy as np

from smap_hybrid.cube import write_cube
from smap_hybrid.data import open_cube
from smap_hybrid.smap import READ_VARS, sample_data, write_granule_from_dmr


def make_year(folder, days, dmr):
    rng = np.random.default_rng(0)
    for i in range(days):
        day = np.datetime64("2019-01-01") + i
        have = rng.random((406, 964)) < 0.12  # ~ the real daily share of retrievals
        sm = np.where(have, rng.uniform(0.02, 0.5, (406, 964)), -9999).astype("float32")
        fields = dict(
            soil_moisture_dca=sm,
            retrieval_qual_flag_dca=np.where(have, 8, 65534).astype("uint16"),
            surface_flag=np.where(have, 0, 65534).astype("uint16"),
            grid_surface_status=np.zeros((406, 964), "uint16"),
        )
        write_granule_from_dmr(
            dmr,
            Path(folder) / f"SMAP_L3_SM_P_{str(day).replace('-', '')}_R19240_001.h5",
            fields,
            variables=READ_VARS
            + ("soil_moisture_dca", "retrieval_qual_flag_dca", "grid_surface_status"),
        )


def ingest(folder, out, scheduler, bbox):
    """Seconds to read + QC the granules into memory with `scheduler` (2 workers), and to write the
    cube."""
    with dask.config.set(scheduler=scheduler, num_workers=2):
        t0 = time.perf_counter()
        cube = open_cube(folder, bbox=bbox).persist()
        t1 = time.perf_counter()
    write_cube(cube, out)  # netCDF/HDF5 writes are serial (one library lock)
    return t1 - t0, time.perf_counter() - t1


def main(quick=False):
    root = sample_data() or (Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    dmr = Path(root) / "smap_l3_v9_layout" / "SC_SPL3SMP_009.dmr"
    if not dmr.exists():
        print(f"ingest: skipped, the v9 DMR is not at {dmr} (set SMAP_HYBRID_SAMPLES)")
        return
    days = 30 if quick else 365
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        make_year(d, days, dmr)
        mb = sum(f.stat().st_size for f in Path(d).glob("*.h5")) / 1e6
        print(
            f"ingest: {days} daily v9-layout granules ({mb:.0f} MB) written in "
            f"{time.perf_counter() - t0:.1f} s; {os.cpu_count()} cores"
        )
        for label, bbox in (("global 406x964", None), ("CONUS window", (-125, 25, -65, 50))):
            ref = None
            for sched in ("synchronous", "threads", "processes"):
                read, write = ingest(d, Path(d) / "cube.nc", sched, bbox)
                ref = ref or read
                print(
                    f"  {label:15s} read+QC {sched:12s} {read:7.2f} s  {days / read:7.1f} files/s "
                    f" {mb / read:7.1f} MB/s"
                    f"  speed-up vs serial {ref / read:4.2f}x   | netCDF write {write:6.2f} s"
                )
                sys.stdout.flush()
