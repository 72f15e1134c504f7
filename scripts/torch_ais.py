"""PyTorch baseline for bism's AIS (eval/ais.go; docs/PERFORMANCE.md).

Annealed importance sampling of a GRBM's log Z as it is usually written
(Salakhutdinov & Murray, 2008): chains start from the base model W = 0, c = 0
(same b and sigma), and each of the BETAS - 1 transitions adds the weight
increment F_{beta_{k-1}}(v) - F_{beta_k}(v) and takes one Gibbs sweep
v -> h -> v of the beta_k-model, all chains as one [CHAINS, D] matrix in
float32, weights in float64. The GRBM is random and Frey-face sized
(D = 560, H = 400), as in bism's BenchmarkAISFrey.

    /usr/bin/python3 scripts/torch_ais.py [CHAINS] [BETAS] [THREADS]

Defaults 2000 chains, 200 temperatures; THREADS 0 (the default) times 1 and
2 threads. Prints "ais CHAINSxBETAS threads=T: X s (log Z Y), peak resident set M MiB".
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


def ais(W, b, c, sigma, chains, betas):
    D, H = W.shape
    s2 = sigma * sigma
    v = b + sigma * torch.randn(chains, D)
    logw = torch.zeros(chains, dtype=torch.float64)
    bs = torch.linspace(0, 1, betas, dtype=torch.float64)
    for k in range(1, betas):
        bp, bc = float(bs[k - 1]), float(bs[k])
        a = v @ W + c
        logw += (F.softplus(bc * a) - F.softplus(bp * a)).sum(1).double()
        if k == betas - 1:
            break
        h = torch.bernoulli(torch.sigmoid(bc * a))
        v = b + bc * s2 * (h @ W.t()) + sigma * torch.randn(chains, D)
    logz0 = torch.log(sigma).sum().item() + 0.5 * D * math.log(2 * math.pi) + H * math.log(2)
    m = logw.max()
    return (m + torch.log(torch.exp(logw - m).mean())).item() + logz0


def main():
    chains = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    betas = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    settings = [int(sys.argv[3])] if len(sys.argv) > 3 and int(sys.argv[3]) > 0 else [1, 2]
    D, H = 560, 400
    torch.manual_seed(1)
    bound = 1 / math.sqrt(H)
    W = (torch.rand(D, H) * 2 - 1) * bound
    b = (torch.rand(D) * 2 - 1) * bound
    c = (torch.rand(H) * 2 - 1) * bound
    sigma = torch.ones(D)
    for threads in settings:
        torch.set_num_threads(threads)
        t = time.perf_counter()
        with torch.no_grad():
            lz = ais(W, b, c, sigma, chains, betas)
        print(f"ais {chains}x{betas} threads={threads}: {time.perf_counter() - t:.3f} s (log Z {lz:.3f}), peak resident set {peak_rss_mib():.0f} MiB")


main()
