"""The prepared GPU benchmark (`python -m bench gpu`) must work the day a GPU is lent: its FLOP
count agrees with torch's own counter, its training step runs (here on the CPU), and without
CUDA it measures nothing and says so. The CPU training bench (`python -m bench model`) runs on
tiny shapes, its reference and the model under test scoring the same kind of mixture."""

import dataclasses
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import gpu, model  # noqa: E402
from smap_hybrid.config import TrainConfig  # noqa: E402
from smap_hybrid.features import n_inputs  # noqa: E402
from smap_hybrid.runs import build_model  # noqa: E402


def test_conv_flops_agree_with_torch_counter():
    cfg = TrainConfig(precision="fp32")
    model = build_model(cfg)
    x = torch.randn(2, n_inputs(cfg), 16, 16)
    with FlopCounterMode(display=False) as fc:
        model.step(x)
    assert gpu.conv_flops(cfg, 16, 2, 1) == 3 * fc.get_total_flops()  # forward + backward (2x)


def test_peak_lookup():
    assert gpu.peak_bf16("NVIDIA H200") == 989e12 and gpu.peak_bf16("a CPU") is None


def test_training_step_runs_on_cpu():
    cfg = dataclasses.replace(TrainConfig(), batch=2, seq_len=6, precision="fp32")
    assert gpu.step_time(cfg, 16, "cpu", reps=1) > 0


def test_no_gpu_no_figures(capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: `python -m bench gpu` measures it")
    gpu.main()
    assert "no CUDA device here, nothing measured" in capsys.readouterr().out


def test_training_bench_times_every_pair_on_the_same_shapes():
    torch.manual_seed(0)
    xs = torch.randn(2, 3, 5, 8, 8)
    ref, ours = model.RefModel(5, (4,)), model.MDNConvLSTM(5, (4,), k=3)
    assert ref(xs)[0].mean().shape == ours(xs)[0].mean().shape == (2, 3, 8, 8)
    rates = model.network_rates(5, (4,), False, (8,), B=2, T=2, rounds=2)
    assert list(rates) == [8]
    for t in rates.values():
        assert set(t) == {(m, p) for m in ("reference", "MDNConvLSTM")
                          for p in ("fp32", "bf16")} | {("MDNConvLSTM", "bf16 day")}
        assert all(0 < s < 60 for s in t.values())
