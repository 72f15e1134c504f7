"""PyTorch reference timing for the MNIST deep models of Sec. 5.2 (docs/DEEP.md).

MDSM on the fully visible ResNet EBM, and BiMDSM (K inner steps of the
Gaussian CNN posterior on the Fisher inner loss, N = 0) on the deep EBLVM,
batch 100, 1x32x32 inputs, geometric noise 0.1..3.0, sigma0 = 0.1. Same
architecture as bism's model/resnet.go and model/cnnposterior.go.

    /usr/bin/python3 scripts/torch_mnist_step.py [CH] [ITERS] [THREADS] [H] [POSTERIOR_CH] [ONLY]

Defaults: CH 64, ITERS 3, THREADS 2, H 50 and POSTERIOR_CH 64 (configs/mnist/bimdsm.yaml);
configs/mnist/*-cpu.yaml are CH 16, H 50, POSTERIOR_CH 16. ONLY = langevin times
just the Langevin step (10 x ITERS steps).

Install libopenblas-dev next to python3-torch: with only the reference BLAS
(libblas3) Debian's PyTorch took 2.4-3.5 times as long per Langevin step here
(docs/PERFORMANCE.md, window 6). The Langevin-only mode times a cold process;
after the training steps of the full mode PyTorch's step is faster.
"""
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def peak_rss_mib():
    """The process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

ch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 3
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
H = int(sys.argv[4]) if len(sys.argv) > 4 else 50
pch = int(sys.argv[5]) if len(sys.argv) > 5 else 64
only = sys.argv[6] if len(sys.argv) > 6 else ""
torch.set_num_threads(threads)
B = 100


class Block(nn.Module):
    def __init__(self, cin, cout, down):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cin, 3, padding=1, bias=False)
        self.c2 = nn.Conv2d(cin, cout, 3, padding=1)
        self.sc = nn.Conv2d(cin, cout, 1)
        self.down = down

    def forward(self, x):
        h = self.c2(F.elu(self.c1(F.elu(x))))
        s = x
        if self.down:
            h = F.avg_pool2d(h, 2)
            s = F.avg_pool2d(s, 2)
        return h + self.sc(s)


def resnet(ch):
    w = lambda c: c * ch // 64
    blocks = [(64, 128, True), (128, 128, False), (128, 256, True), (256, 256, False), (256, 512, True), (512, 512, False)]
    layers = [nn.Conv2d(1, w(64), 3, padding=1)] + [Block(w(a), w(b), d) for a, b, d in blocks]
    return nn.Sequential(*layers), w(512) * 16


class EBM(nn.Module):
    def __init__(self):
        super().__init__()
        self.net, d = resnet(ch)
        self.fc = nn.Linear(d, d // 2)

    def forward(self, x):
        return (F.elu(self.fc(self.net(x).flatten(1))) ** 2).sum(1)


class EBLVM(nn.Module):
    def __init__(self):
        super().__init__()
        self.net, d = resnet(ch)
        self.g1 = nn.Linear(d, H)
        self.fc = nn.Linear(2 * H, d // 2)

    def forward(self, x, h):
        g = self.g1(self.net(x).flatten(1))
        return (F.elu(self.fc(torch.cat([g + h, h], 1))) ** 2).sum(1)


class Posterior(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Sequential(nn.Conv2d(1, pch, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(pch, 2 * pch, 3, 2, 1), nn.LeakyReLU(0.2),
                               nn.Conv2d(2 * pch, 4 * pch, 3, 2, 1), nn.LeakyReLU(0.2))
        self.mu = nn.Linear(64 * pch, H)
        self.ls = nn.Linear(64 * pch, H)

    def forward(self, x):
        f = self.c(x).flatten(1)
        return self.mu(f), self.ls(f)

    def log_prob(self, x, h):
        mu, ls = self(x)
        return (-0.5 * ((h - mu) / ls.exp()) ** 2 - ls - 0.5 * math.log(2 * math.pi)).sum(1)


sig = torch.exp(torch.linspace(math.log(0.1), math.log(3.0), B)).view(B, 1, 1, 1)


def mdsm_loss(score, eps):
    return 0.5 * ((score / sig + eps / 0.1 ** 2) ** 2).sum((1, 2, 3)).mean()


def mdsm_step(ebm, opt, x):
    eps = torch.randn_like(x)
    xt = (x + sig * eps).requires_grad_(True)
    s = -torch.autograd.grad(ebm(xt).sum(), xt, create_graph=True)[0]
    loss = mdsm_loss(s, eps)
    opt.zero_grad()
    loss.backward()
    opt.step()


def bimdsm_step(m, q, opt, qopt, x, K=5):
    eps = torch.randn_like(x)
    xt = x + sig * eps
    w = 1 / sig.view(B)
    for _ in range(K):
        mu, ls = q(xt)
        h = mu + ls.exp() * torch.randn_like(mu)
        f = (m(xt, h) + q.log_prob(xt, h)).sum()
        gh = torch.autograd.grad(f, h, create_graph=True)[0]
        inner = (0.5 * (gh ** 2).sum(1) * w).mean()
        qopt.zero_grad()
        inner.backward()
        qopt.step()
    xv = xt.clone().requires_grad_(True)
    mu2, ls2 = q(xt.detach())  # h depends on phi, not on v
    h = mu2 + ls2.exp() * torch.randn_like(mu2)
    e = (m(xv, h) + q.log_prob(xv, h)).sum()
    s = -torch.autograd.grad(e, xv, create_graph=True)[0]
    loss = mdsm_loss(s, eps)
    opt.zero_grad()
    loss.backward()
    opt.step()


def timeit(fn, n, warmup=1):
    for _ in range(warmup):
        fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1000


x = torch.rand(B, 1, 32, 32)
ebm = EBM()
opt = torch.optim.Adam(ebm.parameters(), 1e-4, betas=(0.9, 0.95))
print(f"torch {torch.__version__}, threads {threads}, ch {ch}, H {H}, posterior ch {pch}")
if only != "langevin":
    print(f"MDSM ResNet EBM: {timeit(lambda: mdsm_step(ebm, opt, x), iters):.0f} ms/iter, peak resident set {peak_rss_mib():.0f} MiB (the process so far)")

def langevin_step(ebm, x):
    xv = x.detach().requires_grad_(True)
    g = torch.autograd.grad(ebm(xv).sum(), xv)[0]
    with torch.no_grad():
        x.add_(g, alpha=-0.5 * 0.02 ** 2).add_(torch.randn_like(x), alpha=0.02)


for p in ebm.parameters():
    p.requires_grad_(False)
xl = torch.rand(B, 1, 32, 32)
ms = timeit(lambda: langevin_step(ebm, xl), 10 * iters, warmup=10)
print(f"Langevin step, ResNet EBM: {ms:.1f} ms/step, {B / (ms / 1000 * 2701):.2f} images/s over 2700 steps + denoise")
if only == "langevin":
    sys.exit(0)
m, q = EBLVM(), Posterior()
mopt = torch.optim.Adam(m.parameters(), 1e-4, betas=(0.9, 0.95))
qopt = torch.optim.Adam(q.parameters(), 1e-4, betas=(0.9, 0.95))
print(f"BiMDSM deep EBLVM (K=5, N=0): {timeit(lambda: bimdsm_step(m, q, mopt, qopt, x), iters):.0f} ms/iter, peak resident set {peak_rss_mib():.0f} MiB (the process so far)")
