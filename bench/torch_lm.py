"""PyTorch (CPU) peer of the LM training benchmark: a byte-level GPT, dense or Mixture-of-Experts.

The configs and every detail of the model, loss, optimiser and data are defined in bench/lm-config.ts;
this file mirrors them. One training step = forward + backward + AdamW + reading the loss back.

    python3 bench/torch_lm.py --config dense|moe|large-dense|large-moe [--seconds S] [--min-steps N] [--threads T]
        [--device cpu|cuda] [--json]

On CUDA (the GPU benchmark, bench/gpu) it runs eager PyTorch in fp32 with TF32 matmuls off (PyTorch's default for
matmul); reading the loss back with .item() synchronises every step.

Prints one JSON line (with --json) or a readable summary: median ms/step over the timed steps, tokens/s,
peak RSS, parameter counts and the cross-entropy of the first and last step.

BLAS: Debian's python3-torch calls whatever libblas.so.3 is; install libopenblas0-openmp (bench/torch-lm.ts puts
its folder first on LD_LIBRARY_PATH). The "blas" field of the output names the libraries actually loaded.
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHARED = dict(vocab=256, d_model=256, layers=4, heads=4, context=128, batch=16, ln_eps=1e-5,
              lr=3e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, seed=1234)
LARGE = dict(SHARED, d_model=768, layers=12, heads=12, context=512, batch=8)
CONFIGS = {
    "dense": dict(SHARED, mlp_hidden=1024, experts=0, top_k=0, aux_coef=0.0),
    "moe": dict(SHARED, mlp_hidden=512, experts=8, top_k=2, aux_coef=0.01),
    # The larger GPT of the GPU benchmark (bench/gpu): GPT-2 small's body on bytes.
    "large-dense": dict(LARGE, mlp_hidden=3072, experts=0, top_k=0, aux_coef=0.0),
    "large-moe": dict(LARGE, mlp_hidden=1536, experts=8, top_k=2, aux_coef=0.01),
}


class MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc = nn.Linear(d, hidden)
        self.proj = nn.Linear(hidden, d)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))  # exact (erf) GELU


class MoE(nn.Module):
    """Top-k routed experts, dropless: each expert runs only on the tokens routed to it."""

    def __init__(self, d, hidden, experts, top_k):
        super().__init__()
        self.top_k = top_k
        self.router = nn.Linear(d, experts, bias=False)
        self.experts = nn.ModuleList(MLP(d, hidden) for _ in range(experts))

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])                              # [N, d]
        probs = self.router(x).softmax(dim=-1)                    # [N, E]
        gate, idx = probs.topk(self.top_k, dim=-1)                # [N, k]
        gate = gate / gate.sum(dim=-1, keepdim=True)              # renormalise the k gates to sum 1
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            token, slot = (idx == e).nonzero(as_tuple=True)       # tokens routed to e, and which of their k slots
            if token.numel() == 0:
                continue
            y = expert(x.index_select(0, token)) * gate[token, slot].unsqueeze(1)
            out.index_add_(0, token, y)
        # Switch-Transformer load balancing: E * sum_i f_i * P_i, f_i = share of the N*k assignments (no grad)
        n_exp = probs.shape[-1]
        f = torch.bincount(idx.flatten(), minlength=n_exp).to(x.dtype) / idx.numel()
        aux = n_exp * (f * probs.mean(dim=0)).sum()
        return out.reshape(shape), aux


class Attention(nn.Module):
    def __init__(self, d, heads, context):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        mask = torch.full((context, context), float("-inf")).triu(1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hd]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1])) + self.mask[:T, :T]
        y = att.softmax(dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.ln1 = nn.LayerNorm(d, eps=c["ln_eps"])
        self.attn = Attention(d, c["heads"], c["context"])
        self.ln2 = nn.LayerNorm(d, eps=c["ln_eps"])
        self.mlp = MoE(d, c["mlp_hidden"], c["experts"], c["top_k"]) if c["experts"] else MLP(d, c["mlp_hidden"])

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        h = self.mlp(self.ln2(x))
        if isinstance(h, tuple):
            return x + h[0], h[1]
        return x + h, x.new_zeros(())


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c["vocab"], c["d_model"])
        self.pos = nn.Embedding(c["context"], c["d_model"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["d_model"], eps=c["ln_eps"])
        self.head = nn.Linear(c["d_model"], c["vocab"], bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        aux = x.new_zeros(())
        for block in self.blocks:
            x, a = block(x)
            aux = aux + a
        logits = self.head(self.ln_f(x))
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return ce, aux


def count_params(model, c):
    total = sum(p.numel() for p in model.parameters())
    if not c["experts"]:
        return total, total
    per_expert = sum(p.numel() for p in model.blocks[0].mlp.experts[0].parameters())
    return total, total - c["layers"] * (c["experts"] - c["top_k"]) * per_expert


def blas_libraries():
    """BLAS shared libraries loaded in this process (Linux). Debian's torch uses whatever libblas.so.3 points at:
    the reference BLAS is ~10x slower than OpenBLAS (apt-get install libopenblas0-pthread)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(os.path.realpath(p) for p in paths)
    except OSError:
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="dense")
    ap.add_argument("--seconds", type=float, default=10.0, help="time budget of the timed steps")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-steps", type=int, default=5, help="fewest timed steps, even past the budget")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    c = CONFIGS[args.config]

    torch.set_num_threads(args.threads)
    torch.manual_seed(c["seed"])
    dev = torch.device(args.device)
    model = GPT(c).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], betas=c["betas"], eps=c["eps"],
                            weight_decay=c["weight_decay"])
    g = torch.Generator().manual_seed(c["seed"])
    data = torch.randint(0, c["vocab"], (c["batch"], c["context"] + 1), generator=g)
    x, y = data[:, :-1].contiguous().to(dev), data[:, 1:].contiguous().to(dev)

    losses = []

    def step():
        ce, aux = model(x, y)
        loss = ce + c["aux_coef"] * aux if c["aux_coef"] else ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(ce.item())

    for _ in range(args.warmup):
        step()
    times = []
    spent = 0.0
    while len(times) < args.min_steps or spent < args.seconds:
        t0 = time.perf_counter()
        step()
        dt = time.perf_counter() - t0
        times.append(dt * 1000)
        spent += dt

    total, active = count_params(model, c)
    ms = statistics.median(times)
    result = {
        "name": "pytorch",
        "config": args.config,
        "msPerStep": ms,
        "tokensPerSec": c["batch"] * c["context"] * 1000 / ms,
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux reports KiB
        "params": total,
        "activeParams": active,
        "torchVersion": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_libraries(),
        "steps": len(times),
        "warmupSteps": args.warmup,
        "lossFirst": losses[0],
        "lossLast": losses[-1],
        "msMin": min(times),
        "msMax": max(times),
        "device": args.device,
    }
    if args.device == "cuda":
        result["gpu"] = torch.cuda.get_device_name(0)
        result["gpuPeakAllocatedMB"] = torch.cuda.max_memory_allocated() / 2**20
        result["tf32Matmul"] = torch.backends.cuda.matmul.allow_tf32
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pytorch {args.config}: {ms:.1f} ms/step, {result['tokensPerSec']:.0f} tokens/s, "
              f"peak RSS {result['peakRssMB']:.0f} MB, params {total:,} (active {active:,}), "
              f"loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps, torch {torch.__version__}")


if __name__ == "__main__":
    main()
