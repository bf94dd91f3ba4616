"""GPT-2 logits computed by PyTorch from a GPT-2 folder (model.safetensors + config.json), read without our code.

Usage: python3 gpt2_torch_logits.py FOLDER '[ids]'  -> a JSON list of the logits [T * vocab] on stdout.
Used by tests/models/hf-gpt2.test.ts only when `import torch` works (python3-torch is not installed in CI).
"""
import json
import struct
import sys

import torch
import torch.nn.functional as F

folder, ids = sys.argv[1], torch.tensor(json.loads(sys.argv[2]))
raw = open(f'{folder}/model.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
W = {}
for name, entry in header.items():
    if name == '__metadata__':
        continue
    begin, end = entry['data_offsets']
    data = torch.frombuffer(bytearray(raw[8 + n + begin:8 + n + end]), dtype=torch.float32)
    W[name.replace('transformer.', '')] = data.reshape(entry['shape'])
cfg = json.load(open(f'{folder}/config.json'))
D, H, T = cfg['n_embd'], cfg['n_head'], len(ids)


def norm(x, p):
    return F.layer_norm(x, (D,), W[p + '.weight'], W[p + '.bias'], cfg['layer_norm_epsilon'])


def conv1d(x, p):  # GPT-2's Conv1D: weight [in, out]
    return x @ W[p + '.weight'] + W[p + '.bias']


h = W['wte.weight'][ids] + W['wpe.weight'][:T]
for layer in range(cfg['n_layer']):
    p = f'h.{layer}.'
    q, k, v = conv1d(norm(h, p + 'ln_1'), p + 'attn.c_attn').split(D, -1)
    q, k, v = (t.view(T, H, D // H).transpose(0, 1) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(0, 1).reshape(T, D)
    h = h + conv1d(y, p + 'attn.c_proj')
    h = h + conv1d(F.gelu(conv1d(norm(h, p + 'ln_2'), p + 'mlp.c_fc'), approximate='tanh'), p + 'mlp.c_proj')
print(json.dumps((norm(h, 'ln_f') @ W['wte.weight'].T).flatten().tolist()))
