"""Model benchmark: training and inference speed and peak memory, against keras.applications.

For each architecture, at a chosen input size and batch, in float32 and mixed bfloat16,
with and without XLA: training images/s (SGD steps through ``model.fit``), inference
images/s (``predict_on_batch``) and peak memory. Where keras.applications has the same
network (``model_info(name).keras_application``), its model is measured the same way and
the ratio ours / keras.applications is reported. Before the models, the float32
matrix-multiply peak of the machine is measured, and ResNet-50's training rate is
reported as a fraction of it (training counts 3x the forward multiply-adds, 2 FLOPs each).

Every measurement runs in a fresh subprocess, so traces, memory and thread pools never
carry over, and ours and keras.applications' alternate. Times are the best of ``--rounds``
rounds after a warm-up round (``model.fit`` traces in its first epoch). Peak memory is
the GPU allocator's peak on a GPU and the process's peak resident memory above its
resident memory before the model was built on a CPU.

Usage::

    python benchmarks/bench.py [--models twins|all|NAME,NAME] [--size 224] [--batch-size 16]
        [--dtypes float32,mixed_bfloat16] [--xla off,on] [--steps 3] [--rounds 3]
        [--results benchmarks/RESULTS.md | -]

Writes (or replaces) the "Models" section of benchmarks/RESULTS.md, machine details
included, and prints it.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

SECTION = "## Models: benchmarks/bench.py"
#: Train target: training at least this fraction of the matmul peak (ResNet-50 at 224).
PEAK_TARGET = 0.40
#: Ours / keras.applications target.
RATIO_TARGET = 0.98


def _resident_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _build(name, impl, size):
    import keras
    import keras_cnns

    if impl == "ours":
        return keras_cnns.create_model(name, input_shape=(size, size, 3))
    constructor = getattr(keras.applications, keras_cnns.model_info(name).keras_application)
    return constructor(weights=None, input_shape=(size, size, 3))


def measure(name, impl, dtype, xla, size, batch_size, steps, rounds):
    """One measurement, in this process: a dict of images/s and peak memory."""
    import keras
    import numpy as np
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    keras.config.set_dtype_policy(dtype)
    keras.utils.set_random_seed(0)
    baseline = _resident_mib()
    if gpus:
        tf.config.experimental.reset_memory_stats("GPU:0")
    model = _build(name, impl, size)
    classes = model.output_shape[-1]
    images = np.random.default_rng(0).uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")
    labels = np.arange(batch_size) % classes
    data = tf.data.Dataset.from_tensors((images, labels)).repeat()
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        jit_compile=xla,
    )

    class Rounds(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = Rounds()
    model.fit(data, epochs=rounds + 1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    train = steps * batch_size / min(timer.times[1:])
    batch = tf.constant(images)
    model.predict_on_batch(batch)  # traces
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            model.predict_on_batch(batch)
        times.append(time.perf_counter() - start)
    infer = steps * batch_size / min(times)
    if gpus:
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline
    return {"train": train, "infer": infer, "memory": peak}


def matmul_peak(n=2048, repeats=20):
    """Float32 matrix-multiply GFLOP/s of this machine (best of 5 rounds of ``repeats``).

    Each product feeds the next, so none can be skipped or computed once.
    """
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n)) / n**0.5  # keeps the chain's values near unit scale

    @tf.function
    def run():
        c = a
        for _ in range(repeats):
            c = tf.linalg.matmul(c, b)
        return tf.reduce_sum(c)

    run().numpy()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        run().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 * repeats / best / 1e9


def _subprocess(args):
    command = [sys.executable, os.path.abspath(__file__), "--one", json.dumps(args)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _models(spec):
    import keras_cnns

    if spec == "all":
        return keras_cnns.list_models()
    if spec == "twins":
        return keras_cnns.list_models(pretrained=True)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    for name in names:
        keras_cnns.model_info(name)  # unknown names fail here, with the close matches
    return names


def _choices(text, allowed, flag):
    values = [value.strip() for value in text.split(",") if value.strip()]
    bad = [value for value in values if value not in allowed]
    if bad or not values:
        raise SystemExit(f"error: {flag} takes a comma-separated list of {allowed}. Received: {flag}={text}")
    return values


def run(args):
    import keras_cnns
    from data_pipeline import machine

    names = _models(args.models)
    dtypes = _choices(args.dtypes, ["float32", "mixed_bfloat16", "mixed_float16"], "--dtypes")
    xlas = [value == "on" for value in _choices(args.xla, ["off", "on"], "--xla")]
    peak = _subprocess({"peak": True})["gflops"]
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s", flush=True)
    rows = []
    for name in names:
        info = keras_cnns.model_info(name)
        size = args.size or info.default_size
        impls = ["ours", "keras"] if info.keras_application else ["ours"]
        for dtype in dtypes:
            for xla in xlas:
                row = {"model": name, "size": size, "dtype": dtype, "xla": xla}
                for impl in impls:
                    row[impl] = _subprocess({
                        "name": name, "impl": impl, "dtype": dtype, "xla": xla, "size": size,
                        "batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds,
                    })
                rows.append(row)
                print(_row(row, info), flush=True)
    text = report(rows, peak, args, machine())
    if args.results != "-":
        _write_section(args.results, text)
    print(text)
    return rows


def _row(row, info):
    ours, theirs = row["ours"], row.get("keras")
    cells = [f"`{row['model']}`", str(row["size"]), row["dtype"], "on" if row["xla"] else "off"]
    if "error" in ours:
        return "| " + " | ".join(cells + [f"failed: {ours['error']}"] + [""] * 6) + " |"
    cells += [f"{ours['train']:.1f}", f"{ours['infer']:.1f}", f"{ours['memory']:.0f}"]
    if theirs is None:
        cells += ["", "", ""]
    elif "error" in theirs:
        cells += [f"keras.applications failed: {theirs['error']}", "", ""]
    else:
        cells += [
            f"{info.keras_application}",
            f"{ours['train'] / theirs['train']:.2f}",
            f"{ours['infer'] / theirs['infer']:.2f}",
        ]
    return "| " + " | ".join(cells) + " |"


def _has_gpu():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def report(rows, peak, args, machine):
    import keras_cnns

    lines = [
        SECTION,
        "",
        f"Command: `python benchmarks/bench.py {' '.join(args.argv)}`".rstrip() + f" ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {machine}.",
        "",
        f"Batch {args.batch_size}; {args.steps} steps a round; best of {args.rounds} rounds after a warm-up round. "
        f"Memory: peak MiB ({'GPU allocator' if _has_gpu() else 'resident, above the process before the build'}) "
        "over training and inference. Ratios are ours / keras.applications (target: at least "
        f"{RATIO_TARGET}).",
        "",
        f"Float32 matrix-multiply peak (2048x2048): {peak:.0f} GFLOP/s.",
        "",
        "| model | size | dtype | XLA | train img/s | infer img/s | memory MiB | keras.applications | train ratio | infer ratio |",
        "|---|---:|---|---|---:|---:|---:|---|---:|---:|",
    ]
    lines += [_row(row, keras_cnns.model_info(row["model"])) for row in rows]
    for row in rows:
        if row["model"] == "resnet50" and row["dtype"] == "float32" and "train" in row["ours"]:
            flops = 3 * 2 * keras_cnns.count_macs(keras_cnns.create_model("resnet50", input_shape=(row["size"],) * 2 + (3,)))
            share = row["ours"]["train"] * flops / 1e9 / peak
            lines += [
                "",
                f"ResNet-50 training at {row['size']} (float32, XLA {'on' if row['xla'] else 'off'}): "
                f"{row['ours']['train'] * flops / 1e9:.0f} GFLOP/s = {share:.0%} of the matmul peak "
                f"(target at 224: at least {PEAK_TARGET:.0%}).",
            ]
    return "\n".join(lines) + "\n"


def _write_section(path, text):
    old = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    pattern = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    new = pattern.sub(lambda _: text.rstrip("\n"), old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    with open(path, "w") as file:
        file.write(new.rstrip("\n") + "\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="all", help='"all", "twins" (those keras.applications has) or NAME,NAME')
    parser.add_argument("--size", type=int, default=None, help="square input size (default: each model's own)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtypes", default="float32,mixed_bfloat16", help="comma-separated dtype policies")
    parser.add_argument("--xla", default="off,on", help='"off", "on" or "off,on"')
    parser.add_argument("--steps", type=int, default=3, help="steps (batches) a round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds after the warm-up round")
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"), help='file to write the section to; "-" prints only')
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        spec = json.loads(args.one)
        result = {"gflops": matmul_peak()} if spec.pop("peak", False) else measure(**spec)
        print(json.dumps(result))
        return 0
    for flag in ("batch_size", "steps", "rounds"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"error: --{flag.replace('_', '-')} must be at least 1. Received: {getattr(args, flag)}")
    args.argv = argv
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
