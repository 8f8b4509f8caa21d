"""What the command-line tests share: the console script, flags from settings, a run killed
mid-way, a user's forcing file."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

EXE = Path(sys.executable).with_name("smap-hybrid")


def flags(**settings) -> list:
    "Flags from settings, named as the fields: flags(scale=16, hidden=(8, 8)) -> --scale 16 ..."
    out = []
    for k, v in settings.items():
        out.append("--" + k.replace("_", "-"))
        out += [str(x) for x in v] if isinstance(v, (tuple, list)) else [str(v)]
    return out


def cli(*args, check=False, timeout=600, **kw) -> subprocess.CompletedProcess:
    "Run `smap-hybrid ARGS` as a user does; `check`: assert that it succeeded."
    r = subprocess.run(
        [str(EXE), *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw
    )
    if check:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def kill_when(args, path, timeout=240, **kw) -> None:
    "Start `smap-hybrid ARGS`, SIGKILL it (and its children) as soon as `path` exists."
    p = subprocess.Popen(
        [str(EXE), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kw,
    )
    t0 = time.time()
    while not Path(path).exists() and p.poll() is None and time.time() - t0 < timeout:
        time.sleep(0.05)
    assert Path(path).exists(), p.stdout.read() if p.poll() is not None else f"no {path} in time"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def _lat_lon(step) -> tuple:
    "A regular lat/lon grid over North America at `step` degrees."
    return np.arange(20.05, 55, step), np.arange(-130.05, -60, step)


def lonlat_forcing(path, start, days, step, **fields) -> Path:
    """A user's forcing netCDF on a regular lat/lon grid over North America: each field
    `name=(values (days, lat, lon) or a scalar, units)`."""
    lat, lon = _lat_lon(step)
    shape = (days, lat.size, lon.size)
    ds = xr.Dataset(
        {k: (("time", "lat", "lon"), np.broadcast_to(v, shape), dict(units=u))
         for k, (v, u) in fields.items()},
        coords=dict(time=pd.date_range(start, periods=days), lat=lat, lon=lon),
    )
    ds.to_netcdf(path)
    return Path(path)


def grid_shape(step) -> tuple:
    "(lat, lon) sizes of `lonlat_forcing`'s grid at `step` degrees."
    return tuple(a.size for a in _lat_lon(step))
