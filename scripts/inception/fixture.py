"""Writes eval/testdata/inception_fixture.safetensors: Inception-v3 pool3
features computed by PyTorch for bism's test of eval.InceptionV3.

The network is built here from torch.nn primitives, layer for layer as
torchvision's Inception3 (and, for the "fid" variant, as pytorch-fid's
patched blocks), with the torchvision state-dict names. Its weights are not
trained: every tensor is filled from a counter-based hash of its name (the
same function eval/inception_test.go computes), so the Go test can rebuild
them without a 100 MB file. Inputs are two 1x28x28 images from the same hash,
which exercises the grey-to-RGB copy and the bilinear resize to 299x299.

Run with Debian's PyTorch (python3-torch; no torchvision needed):
    /usr/bin/python3 scripts/inception/fixture.py eval/testdata/inception_fixture.safetensors
With "bench N" instead of a path it times the FID variant's features of N
28x28 images on 2 threads, the counterpart of bism's
BenchmarkInceptionV3Features (docs/PERFORMANCE.md):
    /usr/bin/python3 scripts/inception/fixture.py bench 25
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

MASK = (1 << 64) - 1


def fnv1a(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h ^= b
        h = (h * 0x100000001B3) & MASK
    return h


def uniform(name, n):
    """n values in [-1, 1), each exactly a float32: splitmix64(fnv1a(name) + i)."""
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(fnv1a(name))
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 23) - 1.0


class Conv:
    def __init__(self, params, name, cin, cout, k, stride=1, pad=0):
        kh, kw = (k, k) if isinstance(k, int) else k
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        fan = cin * kh * kw
        w = uniform(name + ".conv.weight", cout * fan) * math.sqrt(6.0 / fan)
        self.w = torch.tensor(w.reshape(cout, cin, kh, kw), dtype=torch.float32)
        self.g = torch.tensor(1 + 0.1 * uniform(name + ".bn.weight", cout), dtype=torch.float32)
        self.b = torch.tensor(0.1 * uniform(name + ".bn.bias", cout), dtype=torch.float32)
        self.m = torch.tensor(0.1 * uniform(name + ".bn.running_mean", cout), dtype=torch.float32)
        self.v = torch.tensor(1 + 0.25 * (uniform(name + ".bn.running_var", cout) + 1), dtype=torch.float32)
        self.stride, self.pad = stride, (ph, pw)

    def __call__(self, x):
        x = F.conv2d(x, self.w, stride=self.stride, padding=self.pad)
        x = F.batch_norm(x, self.m, self.v, self.g, self.b, training=False, eps=0.001)
        return F.relu(x)


def build(fid):
    P = {}

    def c(name, *a, **kw):
        P[name] = Conv(P, name, *a, **kw)
        return P[name]

    def avg(x):
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=not fid)

    def block_a(pre, cin, pf):
        b1 = c(pre + ".branch1x1", cin, 64, 1)
        b5 = [c(pre + ".branch5x5_1", cin, 48, 1), c(pre + ".branch5x5_2", 48, 64, 5, pad=2)]
        b3 = [c(pre + ".branch3x3dbl_1", cin, 64, 1), c(pre + ".branch3x3dbl_2", 64, 96, 3, pad=1),
              c(pre + ".branch3x3dbl_3", 96, 96, 3, pad=1)]
        bp = c(pre + ".branch_pool", cin, pf, 1)
        return lambda x: torch.cat([b1(x), seq(b5, x), seq(b3, x), bp(avg(x))], 1)

    def block_b(pre, cin):
        b3 = c(pre + ".branch3x3", cin, 384, 3, stride=2)
        bd = [c(pre + ".branch3x3dbl_1", cin, 64, 1), c(pre + ".branch3x3dbl_2", 64, 96, 3, pad=1),
              c(pre + ".branch3x3dbl_3", 96, 96, 3, stride=2)]
        return lambda x: torch.cat([b3(x), seq(bd, x), F.max_pool2d(x, 3, stride=2)], 1)

    def block_c(pre, cin, c7):
        b1 = c(pre + ".branch1x1", cin, 192, 1)
        b7 = [c(pre + ".branch7x7_1", cin, c7, 1), c(pre + ".branch7x7_2", c7, c7, (1, 7), pad=(0, 3)),
              c(pre + ".branch7x7_3", c7, 192, (7, 1), pad=(3, 0))]
        bd = [c(pre + ".branch7x7dbl_1", cin, c7, 1), c(pre + ".branch7x7dbl_2", c7, c7, (7, 1), pad=(3, 0)),
              c(pre + ".branch7x7dbl_3", c7, c7, (1, 7), pad=(0, 3)),
              c(pre + ".branch7x7dbl_4", c7, c7, (7, 1), pad=(3, 0)),
              c(pre + ".branch7x7dbl_5", c7, 192, (1, 7), pad=(0, 3))]
        bp = c(pre + ".branch_pool", cin, 192, 1)
        return lambda x: torch.cat([b1(x), seq(b7, x), seq(bd, x), bp(avg(x))], 1)

    def block_d(pre, cin):
        b3 = [c(pre + ".branch3x3_1", cin, 192, 1), c(pre + ".branch3x3_2", 192, 320, 3, stride=2)]
        b7 = [c(pre + ".branch7x7x3_1", cin, 192, 1), c(pre + ".branch7x7x3_2", 192, 192, (1, 7), pad=(0, 3)),
              c(pre + ".branch7x7x3_3", 192, 192, (7, 1), pad=(3, 0)),
              c(pre + ".branch7x7x3_4", 192, 192, 3, stride=2)]
        return lambda x: torch.cat([seq(b3, x), seq(b7, x), F.max_pool2d(x, 3, stride=2)], 1)

    def block_e(pre, cin, last):
        b1 = c(pre + ".branch1x1", cin, 320, 1)
        b31 = c(pre + ".branch3x3_1", cin, 384, 1)
        b3a = c(pre + ".branch3x3_2a", 384, 384, (1, 3), pad=(0, 1))
        b3b = c(pre + ".branch3x3_2b", 384, 384, (3, 1), pad=(1, 0))
        bd1 = c(pre + ".branch3x3dbl_1", cin, 448, 1)
        bd2 = c(pre + ".branch3x3dbl_2", 448, 384, 3, pad=1)
        bda = c(pre + ".branch3x3dbl_3a", 384, 384, (1, 3), pad=(0, 1))
        bdb = c(pre + ".branch3x3dbl_3b", 384, 384, (3, 1), pad=(1, 0))
        bp = c(pre + ".branch_pool", cin, 192, 1)

        def pool(x):
            if fid and last:
                return F.max_pool2d(x, 3, stride=1, padding=1)
            return avg(x)

        def f(x):
            y = b31(x)
            d = bd2(bd1(x))
            return torch.cat([b1(x), b3a(y), b3b(y), bda(d), bdb(d), bp(pool(x))], 1)
        return f

    def seq(layers, x):
        for l in layers:
            x = l(x)
        return x

    stem = [c("Conv2d_1a_3x3", 3, 32, 3, stride=2), c("Conv2d_2a_3x3", 32, 32, 3),
            c("Conv2d_2b_3x3", 32, 64, 3, pad=1)]
    stem2 = [c("Conv2d_3b_1x1", 64, 80, 1), c("Conv2d_4a_3x3", 80, 192, 3)]
    blocks = [block_a("Mixed_5b", 192, 32), block_a("Mixed_5c", 256, 64), block_a("Mixed_5d", 288, 64),
              block_b("Mixed_6a", 288), block_c("Mixed_6b", 768, 128), block_c("Mixed_6c", 768, 160),
              block_c("Mixed_6d", 768, 160), block_c("Mixed_6e", 768, 192), block_d("Mixed_7a", 768),
              block_e("Mixed_7b", 1280, False), block_e("Mixed_7c", 2048, True)]

    def net(x):
        x = F.interpolate(x.repeat(1, 3, 1, 1), size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = F.max_pool2d(seq(stem, x), 3, stride=2)
        x = F.max_pool2d(seq(stem2, x), 3, stride=2)
        for b in blocks:
            x = b(x)
        return x.mean(dim=(2, 3))
    return net


def main(out):
    torch.set_num_threads(2)
    x = torch.tensor((uniform("input", 2 * 28 * 28) + 1) / 2, dtype=torch.float32).reshape(2, 1, 28, 28)
    feats = {}
    with torch.no_grad():
        for variant in ("torchvision", "fid"):
            feats[variant] = build(variant == "fid")(x).numpy().astype("<f4")
    header, blobs, off = {}, [], 0
    for k in sorted(feats):
        b = feats[k].tobytes()
        header[k] = {"dtype": "F32", "shape": list(feats[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"source": "scripts/inception/fixture.py", "torch": torch.__version__}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    for k in sorted(feats):
        print(k, feats[k].shape, float(feats[k].mean()), float(feats[k].std()))


def bench(n):
    import time
    torch.set_num_threads(2)
    net = build(True)
    x = torch.rand(n, 1, 28, 28)
    with torch.no_grad():
        net(x)  # warm-up
        for _ in range(3):
            t = time.perf_counter()
            net(x)
            dt = time.perf_counter() - t
            print(f"PyTorch {torch.__version__}: Inception-v3 features of {n} images: {dt*1000:.0f} ms, {n/dt:.2f} images/s")


if __name__ == "__main__":
    if sys.argv[1] == "bench":
        bench(int(sys.argv[2]))
    else:
        main(sys.argv[1])
