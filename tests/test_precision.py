"""The network's body forced to bf16 — the path every GPU and every CPU with native bf16 takes —
trains and reconstructs on any machine (torch emulates bf16 where the CPU lacks it, slowly: the
sizes here are tiny), and the product's statistics stay valid; forced to fp32, the same on a
machine whose `auto` is bf16. A green run on one machine so says the same of the others."""

import os
from unittest import mock

import numpy as np
import pytest

from smap_hybrid.config import TrainConfig, WBMConfig
from smap_hybrid.model import PRECISION_ENV
from smap_hybrid.reconstruct import reconstruct
from smap_hybrid.train import train
from smap_hybrid.twin import TwinConfig, make_twin
from smap_hybrid.wbm import fit_wbm

TINY = TrainConfig(
    scale=16, hidden=(8, 8), epochs=2, batches_per_epoch=3, batch=4, seq_len=30, val_batches=1
)


@pytest.fixture(scope="module")
def cube():
    return fit_wbm(make_twin(TwinConfig(rows=16, cols=16, days=240)), WBMConfig(wbm_iters=5))


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_training_and_reconstruction_in_a_forced_precision(cube, tmp_path, precision):
    with mock.patch.dict(os.environ, {PRECISION_ENV: precision}):
        summary = train(cube, TINY, tmp_path / "run", progress=False)
        prod = reconstruct(cube, tmp_path / "run", device="cpu")
    assert prod.attrs["network_precision"] == precision
    history = summary["members"][0]["history"]
    assert all(np.isfinite([h["train_nll"] for h in history] + [h["val_nll"] for h in history]))
    land = prod.land.values
    assert not np.isnan(prod.sm.values[:, land]).any()
    assert 0 <= np.nanmin(prod.pit.values) <= np.nanmax(prod.pit.values) <= 1
    assert np.nanmin(prod.crps.values) >= 0
    inside = (prod.sm_q05 <= prod.sm_model + 1e-6) & (prod.sm_model <= prod.sm_q95 + 1e-6)
    assert bool(inside.where(prod.land, True).all())
