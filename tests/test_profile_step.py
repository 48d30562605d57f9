"""benchmarks/profile_step.py: TensorFlow's profiler on one model step, op types by self time."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_profile_step_ranks_the_ops_of_a_training_step():
    command = [sys.executable, str(ROOT / "benchmarks" / "profile_step.py"), "--model", "resnet18", "--size", "32",
               "--batch-size", "2", "--steps", "1", "--top", "40"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.startswith("resnet18 at 32, batch 2, float32, train, 1 steps:")
    types = {line.split("|")[1].strip(" `"): line.split("|") for line in out.splitlines()
             if line.startswith("| `") and len(line.split("|")) == 6}
    # ResNet-18: 20 convolutions, each with its two gradients; its 20 batch norms fused.
    convolutions = [kind for kind in types if kind.endswith("Conv2D")]
    assert convolutions and float(types[convolutions[0]][4]) == 20
    assert any(kind.endswith("Conv2DBackpropFilter") for kind in types)
    assert any("FusedBatchNorm" in kind for kind in types)
    shares = [float(row[2].strip(" %")) for row in types.values()]
    assert shares == sorted(shares, reverse=True) and 95 < sum(shares) <= 100.5
