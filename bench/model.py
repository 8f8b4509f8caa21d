"""MDN-ConvLSTM training-step throughput on CPU (samples/s and pixel-steps/s) for patches of 16, 32
and 64 pixels, against a plain reference ConvLSTM — separate convolutions per gate for x and h
(the textbook formulation, no fusion, no normalisation) with the same MDN head and loss —
measured in the same run on the same shapes. Goal (issue 5): at least 1.3x the reference.  Three
comparisons: fusion alone at float32; fusion alone at bfloat16 (the reference under bf16
autocast, ours with its body forced to bf16); and the model as it trains here (fused, precision
`auto`: bf16 where the CPU has it natively) against the plain float32 reference — the goal's
comparison. Every row names its precision; `SMAP_HYBRID_PRECISION` is ignored here so the rows
mean what they say."""

import contextlib
import os
import time

import torch
import torch.nn as nn

from smap_hybrid.model import (PRECISION_ENV, MDNConvLSTM, MDNHead, bf16_supported, mixture_nll,
                               resolve_precision)


class RefCell(nn.Module):
    "Textbook ConvLSTM cell: eight convolutions (W_x* and W_h* per gate)."

    def __init__(self, cin, hid, k=3):
        super().__init__()
        self.hid = hid
        self.wx = nn.ModuleList(nn.Conv2d(cin, hid, k, padding=k // 2) for _ in range(4))
        self.wh = nn.ModuleList(
            nn.Conv2d(hid, hid, k, padding=k // 2, bias=False) for _ in range(4)
        )

    def forward(self, x, st):
        h, c = st
        i, f, g, o = (wx(x) + wh(h) for wx, wh in zip(self.wx, self.wh))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class RefModel(nn.Module):
    def __init__(self, cin, hidden=(32, 32), k=3):
        super().__init__()
        chans = (cin,) + hidden
        self.cells = nn.ModuleList(RefCell(chans[i], chans[i + 1]) for i in range(len(hidden)))
        self.head = MDNHead(hidden[-1], k)

    def forward(self, xs):
        B, T, C, H, W = xs.shape
        sts = [(xs.new_zeros(B, c.hid, H, W),) * 2 for c in self.cells]
        out = []
        for t in range(T):
            x = xs[:, t]
            for i, cell in enumerate(self.cells):
                x, sts[i] = cell(x, sts[i])
            out.append(x)
        with torch.autocast("cpu", enabled=False):  # the head in float32, as in MDNConvLSTM
            return self.head(torch.stack(out, 1).float()), None


def step_rate(model, xs, y, reps, bf16=False):
    "Seconds per training step (forward, masked NLL, backward, AdamW) in fp32 or bf16."
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    ours = isinstance(model, MDNConvLSTM)
    if ours:  # its body's precision is its own setting (chapter 10), never an outer autocast
        model.precision = "bf16" if bf16 else "fp32"
    outer = bf16 and not ours

    def one():
        with torch.autocast("cpu", dtype=torch.bfloat16) if outer else contextlib.nullcontext():
            mix, _ = model(xs)
        loss = mixture_nll(mix, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    one()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        one()
    return (time.perf_counter() - t0) / reps


def main(quick=False):
    os.environ.pop(PRECISION_ENV, None)
    torch.manual_seed(0)
    B, T, C, hidden = 8, (5 if quick else 10), 8, (32, 32)
    native = bf16_supported("cpu")
    print(
        f"MDN-ConvLSTM training step (batch {B}, {T} steps, {C} inputs, hidden {hidden}, K=3, "
        f"{torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores; native CPU bf16: {native}):"
    )
    for size in (16, 32, 64):
        xs = torch.randn(B, T, C, size, size)
        y = torch.where(
            torch.rand(B, T, size, size) < 0.3,
            torch.randn(B, T, size, size) * 0.03,
            torch.tensor(float("nan")),
        )
        reps = 2 if size == 64 else 3
        ref, ours = RefModel(C, hidden), MDNConvLSTM(C, hidden, k=3)
        t = {
            ("reference", "fp32"): step_rate(ref, xs, y, reps),
            ("MDNConvLSTM", "fp32"): step_rate(ours, xs, y, reps),
            ("reference", "bf16"): step_rate(ref, xs, y, reps, True),
            ("MDNConvLSTM", "bf16"): step_rate(ours, xs, y, reps, True),
        }
        for (label, prec), s in t.items():
            print(
                f"  {size:2d}x{size:<2d} {label:12s} {prec}  {s * 1e3:8.1f} ms/step  {B / s:7.1f} "
                f"samples/s  {B * T * size * size / s:10.3e} pixel-steps/s"
            )
        as_trained = resolve_precision("auto", "cpu")
        trained = t[("MDNConvLSTM", as_trained)]
        print(
            f"  {size:2d}x{size:<2d} fusion at fp32 "
            f"{t[('reference', 'fp32')] / t[('MDNConvLSTM', 'fp32')]:.2f}x, fusion at bf16 "
            f"{t[('reference', 'bf16')] / t[('MDNConvLSTM', 'bf16')]:.2f}x; as trained "
            f"({as_trained}) vs plain fp32 reference "
            f"{t[('reference', 'fp32')] / trained:.2f}x (goal 1.3x)"
        )
