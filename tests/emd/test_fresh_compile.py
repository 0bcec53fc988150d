"""On a fresh checkout numba's cache is empty: the first EMD call compiles the solvers, and its
worker threads must not compile one function at once (numba then raises a TypingError, which
the β-slider page showed to the first visitor of a new server)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import numpy as np, torch
from jetviz.emd.exact import pairwise_emds
from jetviz.emd.exact_torch import exact_emd_torch
g = torch.Generator().manual_seed(0)
w = torch.rand(64, 10, generator=g, dtype=torch.float64)
x = 0.3 * torch.randn(64, 10, 2, generator=g, dtype=torch.float64)
two = exact_emd_torch(w, x, w.flip(0), x.flip(0), n_jobs=2)
one = exact_emd_torch(w, x, w.flip(0), x.flip(0), n_jobs=1)
assert torch.allclose(two, one), (two, one)
ev = np.concatenate([w.numpy()[..., None], x.numpy()], -1)
assert np.allclose(pairwise_emds(ev, n_jobs=2), pairwise_emds(ev, n_jobs=1))
print("ok")
"""


def test_the_first_emd_calls_compile_on_two_threads_without_error(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}  # an empty numba cache
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
