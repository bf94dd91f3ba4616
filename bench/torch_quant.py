"""PyTorch peer of the int8 benchmark (bench/compress.ts): the same MLP in float32 and after
torch.ao.quantization.quantize_dynamic (int8 nn.Linear weights, activations quantized per call), timed at
batch 256 and 1 with the calls interleaved round by round. Prints one JSON line."""
import argparse
import json
import statistics
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument('--sizes', default='256,1024,1024,10')
ap.add_argument('--rounds', type=int, default=7)
ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
sizes = [int(s) for s in a.sizes.split(',')]
layers = []
for i in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    if i < len(sizes) - 2:
        layers.append(torch.nn.ReLU())
torch.manual_seed(1)
model = torch.nn.Sequential(*layers).eval()
engines = torch.backends.quantized.supported_engines
engine = 'fbgemm' if 'fbgemm' in engines else 'onednn' if 'onednn' in engines else 'qnnpack'
torch.backends.quantized.engine = engine
qmodel = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def run(m, x):
    with torch.inference_mode():
        return torch.softmax(m(x), dim=-1)


results = []
for batch in (256, 1):
    x = torch.randn(batch, sizes[0])
    variants = {'float32': model, 'dynamic': qmodel}
    for _ in range(10):
        for m in variants.values():
            run(m, x)
    t0 = time.perf_counter()
    for _ in range(10):
        run(model, x)
    reps = max(5, round(0.05 / ((time.perf_counter() - t0) / 10)))
    ms = {k: [] for k in variants}
    for _ in range(a.rounds):
        for k, m in variants.items():
            t = time.perf_counter()
            for _ in range(reps):
                run(m, x)
            ms[k].append((time.perf_counter() - t) / reps * 1000)
    for k in variants:
        ratios = [f / q for f, q in zip(ms['float32'], ms[k])]
        results.append({'batch': batch, 'variant': k, 'msPerCall': statistics.median(ms[k]), 'speedup': statistics.median(ratios), 'speedupRange': [min(ratios), max(ratios)]})
print(json.dumps({'results': results, 'torch': torch.__version__, 'engine': engine}))
