"""Data parallel: two torchrun processes (gloo, CPU) follow the single-process loss curve."""
import os
import subprocess
import sys

import numpy as np
import torch

ARGS = ["train", "--config", "cpu-xxs", "--corpus", "markov:16:3:0", "--length", "16",
        "--n-train", "32", "--n-test", "8", "--steps", "8", "--batch-size", "8",
        "--dropout", "0", "--lr", "3e-3", "--warmup", "2", "--no-progress"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    return env


def test_two_process_gloo_equals_one_process(tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    r = subprocess.run([sys.executable, "-m", "uddm.cli", *ARGS, "--out", str(one)],
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node", "2", "-m", "uddm.cli", *ARGS, "--out", str(two)],
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a = torch.load(one, weights_only=True)
    b = torch.load(two, weights_only=True)
    la = np.array([h["loss"] for h in a["history"]])
    lb = np.array([h["loss"] for h in b["history"]])
    assert len(la) == len(lb) == 8
    assert la[-1] < la[0]
    # identical batches and noise; only float summation order differs
    np.testing.assert_allclose(lb, la, rtol=1e-4)
    assert len(b["rng"]["torch"]) == 2               # each rank's dropout RNG saved
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=1e-3, atol=1e-5)
