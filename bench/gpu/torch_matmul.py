"""PyTorch's fp32 matmul on the GPU (the GPU benchmark's reference point): n x n x n, TF32 off and on.

    python3 bench/gpu/torch_matmul.py [--n 4096] [--seconds 3]

Prints one JSON line per precision: median ms per product (timed with CUDA events over back-to-back products)
and TFLOP/s.
"""
import argparse
import json
import statistics

import torch


def measure(n, seconds, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    spent = 0.0
    while len(times) < 10 or spent < seconds * 1000:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(10):
            a @ b
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end) / 10
        times.append(ms)
        spent += ms * 10
    ms = statistics.median(times)
    return {"kind": "matmul", "name": "pytorch cuda" + (" tf32" if tf32 else " fp32"), "n": n, "msPerCall": ms,
            "tflops": 2 * n ** 3 / (ms / 1000) / 1e12, "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    for tf32 in (False, True):
        print(json.dumps(measure(args.n, args.seconds, tf32)))


if __name__ == "__main__":
    main()
