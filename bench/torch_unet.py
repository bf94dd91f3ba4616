"""PyTorch (CPU) peer of the diffusion-quality benchmark (bench/diffusion-quality.ts): the tiny U-Net of
src/models/unet.ts, the objectives and schedules of src/train/diffusion.ts, the EMA of src/train/diffusion-run.ts and
the samplers of src/train/diffusion-sample.ts, written again in PyTorch with the same names, shapes and defaults.

    /usr/bin/python3 bench/torch_unet.py --spec SPEC.json

SPEC.json names the training images (raw float32 [N, 1, 28, 28] in [-1, 1]) and labels (raw int64 [N]), the
objective, steps, batch, lr, threads, seed, the updates after which the EMA weights are kept (snapshots), and the
sampling plan: a list of {"snapshot", "sampler", "steps", "count", "guidance", "file"}. Each plan entry writes its samples as raw
float32 [count, 1, 28, 28] (values in [-1, 1]) to "file"; the class of image i is i % 10. Prints one JSON line:
median ms per update, the last loss, and seconds spent sampling.
"""
import argparse
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / max(1, half))
    args = t[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)  # [cos | sin], as src/nn/spatial.ts


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.timeProj = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = None if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.timeProj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class SpatialSelfAttention(nn.Module):
    """GroupNorm, then bidirectional multi-head attention over the pixels (one fused qkv Linear, proj), plus x."""

    def __init__(self, ch, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch)
        self.heads = heads
        self.qkv = nn.Linear(ch, 3 * ch)
        self.proj = nn.Linear(ch, ch)

    def forward(self, x):
        n, c, h, w = x.shape
        seq = self.norm(x).reshape(n, c, h * w).transpose(1, 2)  # [N, HW, C]
        q, k, v = self.qkv(seq).split(c, dim=-1)
        split = lambda z: z.reshape(n, h * w, self.heads, c // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.heads), dim=-1)
        y = self.proj((att @ v).transpose(1, 2).reshape(n, h * w, c))
        return x + y.transpose(1, 2).reshape(n, c, h, w)


class UNet(nn.Module):
    def __init__(self, channels=1, image=28, base=16, mults=(1, 2), tdim=64, groups=8, heads=2, classes=10):
        super().__init__()
        self.base = base
        self.timeIn = nn.Linear(base, tdim)
        self.timeOut = nn.Linear(tdim, tdim)
        self.labelEmbedding = nn.Embedding(classes + 1, tdim) if classes > 0 else None  # N(0, 1), as ours
        self.inConv = nn.Conv2d(channels, base, 3, padding=1)
        self.down, self.downsample, skips, ch = nn.ModuleList(), nn.ModuleList(), [], base
        for i, m in enumerate(mults):
            self.down.append(ResBlock(ch, base * m, tdim, groups))
            ch = base * m
            skips.append(ch)
            if i < len(mults) - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        self.mid = ResBlock(ch, ch, tdim, groups)
        self.midAttn = SpatialSelfAttention(ch, heads, groups)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(len(mults))):
            self.up.append(ResBlock(ch + skips[i], base * mults[i], tdim, groups))
            ch = base * mults[i]
            if i > 0:
                self.upsample.append(nn.Conv2d(ch, ch, 3, padding=1))  # after nearest x2
        self.outNorm = nn.GroupNorm(groups, ch)
        self.outConv = nn.Conv2d(ch, channels, 3, padding=1)

    def forward(self, x, t, label=None):
        emb = self.timeOut(F.silu(self.timeIn(timestep_embedding(t * 1000.0, self.base))))
        if self.labelEmbedding is not None:
            emb = emb + self.labelEmbedding(label)
        h, skips = self.inConv(x), []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.midAttn(self.mid(h, emb))
        for j, block in enumerate(self.up):
            h = block(torch.cat([h, skips[-1 - j]], dim=1), emb)
            if j < len(self.upsample):
                h = self.upsample[j](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.outConv(F.silu(self.outNorm(h)))


def alpha_bar_schedule(kind, steps):
    ab = [1.0]
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    for i in range(1, steps + 1):
        linear = (1e-4 + (0.02 - 1e-4) * (i - 1) / max(1, steps - 1)) * (1000 / steps)
        beta = linear if kind == "linear" else 1 - f(i / steps) / f((i - 1) / steps)
        ab.append(ab[-1] * (1 - min(0.999, beta)))
    return ab


def lr_at(step, lr, total):
    warmup, min_lr = total // 20, lr / 10
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if step >= total:
        return min_lr
    t = (step - warmup) / max(1, total - warmup)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * t))


@torch.no_grad()
def sample(model, objective, ab, timesteps, sampler, steps, count, gen, guidance=1.0):
    x = torch.randn(count, 1, 28, 28, generator=gen)
    label = torch.arange(count) % 10
    unguided = model

    def model(x, t, label):
        # Classifier-free guidance as src/train/diffusion-sample.ts: the batch again with the null class (10),
        # mixed as uncond + w (cond - uncond).
        if guidance == 1:
            return unguided(x, t, label)
        out = unguided(torch.cat([x, x]), torch.cat([t, t]), torch.cat([label, torch.full_like(label, 10)]))
        cond, uncond = out[: len(x)], out[len(x):]
        return uncond + guidance * (cond - uncond)

    if sampler == "euler":
        for k in range(steps, 0, -1):
            t, nxt = k / steps, (k - 1) / steps
            x = x + (nxt - t) * model(x, torch.full((count,), t), label)
        return x
    eta = 1.0 if sampler == "ddpm" else 0.0
    ts = [round(k * timesteps / steps) for k in range(steps + 1)]
    for k in range(steps, 0, -1):
        i, j = ts[k], ts[k - 1]
        if i == j:
            continue
        out = model(x, torch.full((count,), i / timesteps), label)
        a, s, a_prev = math.sqrt(ab[i]), math.sqrt(1 - ab[i]), math.sqrt(ab[j])
        sigma = eta * math.sqrt((1 - ab[j]) / (1 - ab[i])) * math.sqrt(1 - ab[i] / ab[j])
        direction = math.sqrt(max(0.0, 1 - ab[j] - sigma * sigma))
        raw = a * x - s * out if objective == "v" else (x - s * out) / a
        x0 = raw.clamp(-1, 1)
        eps = (x - a * x0) / s
        x = a_prev * x0 + direction * eps + (sigma * torch.randn(x.shape, generator=gen) if sigma > 0 else 0)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    spec = json.load(open(ap.parse_args().spec))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(spec["seed"])
    x0all = torch.from_numpy(np.fromfile(spec["images"], dtype=np.float32)).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(np.fromfile(spec["labels"], dtype=np.int64))
    objective, steps, batch, timesteps = spec["objective"], spec["steps"], spec["batch"], spec["timesteps"]
    ab = alpha_bar_schedule(spec["schedule"], timesteps)
    ab_t = torch.tensor(ab, dtype=torch.float32)
    model = UNet(classes=10)
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    snapshots, kept = set(spec["snapshots"]), {}
    gen = torch.Generator().manual_seed(spec["seed"])
    times, loss_value, last_fold = [], float("nan"), 0
    for update in range(steps):
        pick = torch.randint(0, x0all.shape[0], (batch,), generator=gen)
        x0 = x0all[pick]
        label = torch.where(torch.rand(batch, generator=gen) < 0.1, torch.full((batch,), 10), labels[pick])
        eps = torch.randn(x0.shape, generator=gen)
        if objective == "flow":
            t = torch.rand(batch, generator=gen)
            a, s = 1 - t, t
        else:
            i = torch.randint(1, timesteps + 1, (batch,), generator=gen)
            t = i.float() / timesteps
            a, s = ab_t[i].sqrt(), (1 - ab_t[i]).sqrt()
        xt = a[:, None, None, None] * x0 + s[:, None, None, None] * eps
        target = eps if objective == "ddpm" else (eps - x0 if objective == "flow" else a[:, None, None, None] * eps - s[:, None, None, None] * x0)
        for g in opt.param_groups:
            g["lr"] = lr_at(update, spec["lr"], steps)
        t0 = time.perf_counter()
        loss = F.mse_loss(model(xt, t, label), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_value = loss.item()
        times.append((time.perf_counter() - t0) * 1000)
        # The EMA of src/train/diffusion-run.ts: folded at multiples of --steps-per-call (8), at the snapshots and at
        # the end, with the decay warmed up as min(decay, (1 + n) / (10 + n)), raised to the updates since the last fold.
        done = update + 1
        if done % 8 == 0 or done == steps or done in snapshots:
            d = min(spec["emaDecay"], (1 + done) / (10 + done)) ** (done - last_fold)
            last_fold = done
            with torch.no_grad():
                for name, w in model.state_dict().items():
                    ema[name].mul_(d).add_(w, alpha=1 - d)
        if done in snapshots:
            kept[done] = {k: v.clone() for k, v in ema.items()}
    sample_seconds = 0.0
    for entry in spec["plan"]:
        model.load_state_dict(kept[entry["snapshot"]])
        model.eval()
        g = torch.Generator().manual_seed(entry.get("seed", 0))
        t0 = time.perf_counter()
        out = sample(model, objective, ab, timesteps, entry["sampler"], entry["steps"], entry["count"], g,
                     entry.get("guidance", 1.0))
        sample_seconds += time.perf_counter() - t0
        out.numpy().astype(np.float32).tofile(entry["file"])
    print(json.dumps({
        "msPerStep": statistics.median(times), "lastLoss": loss_value, "sampleSeconds": sample_seconds,
        "params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__, "threads": spec["threads"],
    }))


if __name__ == "__main__":
    main()
