"""PyTorch baseline for bism's GRBM training iterations (docs/PERFORMANCE.md).

It follows the authors' algorithm as their code runs it (Sec. 5.1 and Algorithm 1):
a GRBM with per-dimension sigma, E(v,h) = 1/2 sum (v-b)^2 / sigma^2 - c.h - v^T W h;
for the bi-level methods a Bernoulli posterior with logits A v + a (a linear layer),
sampled by the relaxed Bernoulli as a softmax over [l, 0] plus two Gumbels at
temperature 0.1, the KL inner loss E(v,h) + log q(h|v); K real Adam steps of q
with theta frozen, then N unrolled differentiable Adam steps continuing from the
optimizer's state (step count and moments, detached), the outer loss (DSM or SSM)
with the bi-level score -grad_v [E(v,h) + log q(h|v)] at phi^N(theta), h drawn
from q with its input detached; theta by Adam (0.9, 0.95). DSM, SSM and CD-1 use
the free energy. Batch 100, float32, training steps only.

    /usr/bin/python3 scripts/torch_grbm_step.py WORKLOAD [ITERS] [THREADS]

WORKLOAD is one of checkerboard-bissm, checkerboard-bidsm, checkerboard-dsm,
checkerboard-ssm, checkerboard-cd1, checkerboard-cd5, frey-bidsm, frey-bissm, frey-dsm,
frey-ssm, frey-cd1 (checkerboard: D = 2, H = 4, DSM sigma 0.05, lr 1e-3; Frey:
D = 560, H = 400, sigma 0.3, lr 2e-4; K = N = 5). THREADS 0 (the default) times 1
and 2 threads and prints both. Prints one line per thread setting:
"WORKLOAD threads=T: X ms per iteration, peak resident set M MiB". Needs Debian's python3-torch with
libopenblas-dev (without OpenBLAS, PyTorch runs on the reference BLAS, 3-5 times
slower).
"""
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def peak_rss_mib():
    """The process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


B = 100


def setup(name):
    data, method = name.split("-", 1)
    if data == "checkerboard":
        D, H, sigma, lr = 2, 4, 0.05, 1e-3
        x = torch.rand(4000, 2) * 0.5
        x[torch.rand(4000) < 0.5] += 0.5
    else:
        D, H, sigma, lr = 560, 400, 0.3, 2e-4
        x = torch.rand(1965, D)
    return x, method, D, H, sigma, lr


class GRBM:
    def __init__(self, D, H):
        bound = 1 / math.sqrt(H)
        self.W = ((torch.rand(D, H) * 2 - 1) * bound).requires_grad_(True)
        self.b = ((torch.rand(D) * 2 - 1) * bound).requires_grad_(True)
        self.c = ((torch.rand(H) * 2 - 1) * bound).requires_grad_(True)
        self.log_sigma = torch.zeros(D, requires_grad=True)

    def params(self):
        return [self.W, self.b, self.c, self.log_sigma]

    def energy(self, v, h):
        s2 = torch.exp(2 * self.log_sigma)
        return 0.5 * (((v - self.b) ** 2) / s2).sum(1) - h @ self.c - ((v @ self.W) * h).sum(1)

    def free_energy(self, v):
        s2 = torch.exp(2 * self.log_sigma)
        return 0.5 * (((v - self.b) ** 2) / s2).sum(1) - F.softplus(v @ self.W + self.c).sum(1)

    def gibbs(self, v):
        h = torch.bernoulli(torch.sigmoid(v @ self.W + self.c))
        s2 = torch.exp(2 * self.log_sigma)
        mean = self.b + s2 * (h @ self.W.t())
        return mean + torch.exp(self.log_sigma) * torch.randn_like(mean)


def relaxed_bernoulli(logits, tau=0.1):
    # softmax over [l, 0] with two Gumbels, as the authors' code does
    pair = torch.stack([logits, torch.zeros_like(logits)], -1)
    u = torch.rand_like(pair).clamp_(1e-10, 1 - 1e-10)
    g = -torch.log(-torch.log(u))
    return torch.softmax((pair + g) / tau, -1)[..., 0]


def log_q(logits, h):
    return (h * logits - F.softplus(logits)).sum(1)


def score(energy_fn, v):
    v = v.requires_grad_(True) if not v.requires_grad else v
    return -torch.autograd.grad(energy_fn(v).sum(), v, create_graph=True)[0]


def outer_loss(kind, energy_fn, v, sigma):
    if kind == "dsm":
        eps = torch.randn_like(v)
        x = (v + sigma * eps).requires_grad_(True)
        s = score(energy_fn, x)
        return 0.5 * ((s + eps / sigma) ** 2).sum(1).mean()
    x = v.clone().requires_grad_(True)
    u = torch.randint(0, 2, x.shape).float() * 2 - 1
    s = score(energy_fn, x)
    hu = torch.autograd.grad((s * u).sum(), x, create_graph=True)[0]
    return (0.5 * (s * s).sum(1) + (hu * u).sum(1)).mean()


class UnrolledAdam:
    """Adam continuing from a torch.optim.Adam's state, differentiable."""

    def __init__(self, opt, params, lr, betas=(0.9, 0.95), eps=1e-8):
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        st = [opt.state.get(p, {}) for p in params]
        self.t = int(st[0].get("step", 0)) if st[0] else 0
        self.m = [s["exp_avg"].detach() if s else torch.zeros_like(p) for s, p in zip(st, params)]
        self.v = [s["exp_avg_sq"].detach() if s else torch.zeros_like(p) for s, p in zip(st, params)]

    def step(self, xs, grads):
        self.t += 1
        step = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        out = []
        for i, (x, g) in enumerate(zip(xs, grads)):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
            out.append(x - step * self.m[i] / (self.v[i].sqrt() + self.eps))
        return out


def main():
    name = sys.argv[1]
    iters = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    settings = [int(sys.argv[3])] if len(sys.argv) > 3 and int(sys.argv[3]) > 0 else [1, 2]
    data, method, D, H, sigma, lr = setup(name)
    for threads in settings:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        m = GRBM(D, H)
        A = ((torch.rand(D, H) * 2 - 1) / math.sqrt(D)).requires_grad_(True)
        a = ((torch.rand(H) * 2 - 1) / math.sqrt(D)).requires_grad_(True)
        phi = [A, a]
        opt = torch.optim.Adam(m.params(), lr=lr, betas=(0.9, 0.95))
        qopt = torch.optim.Adam(phi, lr=lr, betas=(0.9, 0.95))
        bilevel = method.startswith("bi")
        kind = method[2:] if bilevel else method
        K = N = 5

        def iteration(it):
            v = data[(it * B) % (data.shape[0] - B):][:B]
            if bilevel:
                vt = v  # the inner loss at the outer objective's input
                if kind == "dsm":
                    vt = v + sigma * torch.randn_like(v)
                for _ in range(K):  # theta frozen: only phi's gradient is taken
                    logits = vt @ A + a
                    h = relaxed_bernoulli(logits)
                    loss = (m.energy(vt, h) + log_q(logits, h)).mean()
                    g = torch.autograd.grad(loss, phi)
                    for p, gp in zip(phi, g):
                        p.grad = gp
                    qopt.step()
                u = UnrolledAdam(qopt, phi, lr)
                cur = [A.detach().requires_grad_(True), a.detach().requires_grad_(True)]
                for _ in range(N):
                    logits = vt @ cur[0] + cur[1]
                    h = relaxed_bernoulli(logits)
                    loss = (m.energy(vt, h) + log_q(logits, h)).mean()
                    g = torch.autograd.grad(loss, cur, create_graph=True)
                    cur = u.step(cur, g)

                def energy_fn(x):
                    lg = x.detach() @ cur[0] + cur[1]
                    hh = relaxed_bernoulli(lg)
                    return m.energy(x, hh) + log_q(x @ cur[0] + cur[1], hh)

                out = outer_loss(kind, energy_fn, v, sigma)
            elif method.startswith("cd"):
                k = int(method[2:])
                s = v
                with torch.no_grad():
                    for _ in range(k):
                        s = m.gibbs(s)
                out = m.free_energy(v).mean() - m.free_energy(s).mean()
            else:
                out = outer_loss(kind, m.free_energy, v, sigma)
            opt.zero_grad()
            out.backward()
            opt.step()

        for it in range(3):
            iteration(it)
        t = time.perf_counter()
        for it in range(iters):
            iteration(it)
        ms = (time.perf_counter() - t) / iters * 1000
        print(f"{name} threads={threads}: {ms:.3f} ms per iteration, peak resident set {peak_rss_mib():.0f} MiB")


main()
