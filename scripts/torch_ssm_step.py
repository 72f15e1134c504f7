"""PyTorch reference for bism's BenchmarkSSMStep (ad/composite_test.go).

One sliced score matching step of E(v) = 1/2|v|^2 - sum softplus(v W + c)
(loss plus parameter gradients, third order), batch 100, D = 560, H = 400,
float32. Prints ms per step for torch with 1 and 2 threads.

    /usr/bin/python3 scripts/torch_ssm_step.py [STEPS]   (Debian python3-torch)
"""
import sys
import time

import torch

B, D, H = 100, 560, 400
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def energy(v, W, c):
    return 0.5 * (v * v).sum() - torch.nn.functional.softplus(v @ W + c).sum()


def step(data, W, c):
    v = data.clone().requires_grad_(True)
    u = torch.randint(0, 2, v.shape).float() * 2 - 1
    s = -torch.autograd.grad(energy(v, W, c), v, create_graph=True)[0]
    hu = torch.autograd.grad((s * u).sum(), v, create_graph=True)[0]
    loss = (0.5 * (s * s).sum() + (hu * u).sum()) / B
    return torch.autograd.grad(loss, [W, c])


def bench(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    W = (torch.rand(D, H) * 0.1 - 0.05).requires_grad_(True)
    c = (torch.rand(H) * 0.1 - 0.05).requires_grad_(True)
    data = torch.rand(B, D)
    for _ in range(10):
        step(data, W, c)
    t = time.perf_counter()
    for _ in range(steps):
        step(data, W, c)
    return (time.perf_counter() - t) / steps * 1000


print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads")
for th in (1, 2):
    print(f"threads={th}: {bench(th):.2f} ms per SSM step")
