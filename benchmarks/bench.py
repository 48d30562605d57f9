"""Model benchmark: training and inference speed and peak memory, against keras.applications.

For each architecture, at a chosen input size and batch, in float32 and mixed bfloat16,
with and without XLA: training images/s (SGD steps, ``train_on_batch``), inference
images/s (``predict_on_batch``) and peak memory. Where keras.applications has the same
network (``model_info(name).keras_application``), its model is measured in the same
process and the ratio ours / keras.applications is reported. Before the models, the
float32 matrix-multiply peak of the machine is measured, and ResNet-50's training rate
is reported as a fraction of it (a training step counts 3x the forward multiply-adds,
2 FLOPs each).

Speeds: each (model, dtype, XLA) runs in a fresh subprocess that builds ours and the
keras.applications twin, traces both, then times them in turns, round by round, so a
slow moment of a shared machine hits both alike; each figure is the best of
``--rounds`` rounds. Memory: each model alone in a fresh subprocess (build, two training
steps, inference): the GPU allocator's peak on a GPU, else the peak resident memory
above the process's start.

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
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..")]  # data_pipeline.machine, then keras_cnns

SECTION = "## Models: benchmarks/bench.py"
#: Train target: training at least this fraction of the matmul peak (ResNet-50 at 224).
PEAK_TARGET = 0.40
#: Ours / keras.applications target.
RATIO_TARGET = 0.98
#: Builder arguments that give our model keras.applications' exact layout where our default
#: differs (Inception's batch norm keeps its scale, as TF-slim and timm; Keras drops it):
#: these models are measured both ways.
KERAS_LAYOUT = {"inception_v3": {"norm_scale": False}, "inception_resnet_v2": {"norm_scale": False}}


def _status_mib(field):
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _build(name, impl, size, model_args=None):
    import keras
    import keras_cnns

    if impl == "ours":
        return keras_cnns.create_model(name, input_shape=(size, size, 3), **(model_args or {}))
    constructor = getattr(keras.applications, keras_cnns.model_info(name).keras_application)
    return constructor(weights=None, input_shape=(size, size, 3))


def _prepare(name, impl, dtype, xla, size, batch_size, model_args=None):
    """A compiled model and one batch, with its training and inference steps traced."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.config.set_dtype_policy(dtype)
    keras.utils.set_random_seed(0)
    model = _build(name, impl, size, model_args)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy",
                  jit_compile=xla)
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch_size, size, size, 3)).astype("float32"))
    labels = tf.constant(np.arange(batch_size) % model.output_shape[-1])
    for _ in range(2):  # the first call traces (and compiles with XLA); the second settles
        model.train_on_batch(images, labels)
        model.predict_on_batch(images)
    return model, images, labels


def speed(name, impls, dtype, xla, size, batch_size, steps, rounds, model_args=None):
    """Training and inference images/s of each implementation, measured in turns.

    All models live in this one process and their timed rounds alternate, so a slow
    moment of the machine (other tenants, frequency changes) hits each of them alike;
    each figure is the best of ``rounds``.
    """
    prepared = {impl: _prepare(name, impl, dtype, xla, size, batch_size, model_args) for impl in impls}
    best = {impl: {"train": float("inf"), "infer": float("inf")} for impl in impls}
    for round_ in range(rounds):
        order = impls if round_ % 2 == 0 else impls[::-1]
        for kind in ("train", "infer"):
            for impl in order:
                model, images, labels = prepared[impl]
                start = time.perf_counter()
                for _ in range(steps):
                    if kind == "train":
                        model.train_on_batch(images, labels)
                    else:
                        model.predict_on_batch(images)
                best[impl][kind] = min(best[impl][kind], time.perf_counter() - start)
    return {impl: {kind: steps * batch_size / best[impl][kind] for kind in best[impl]} for impl in impls}


def memory(name, impl, dtype, xla, size, batch_size, model_args=None):
    """Peak memory (MiB) of building, training and running one model in a fresh process:
    the GPU allocator's peak on a GPU, else the peak resident memory above the start."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    baseline = _status_mib("VmRSS")
    if gpus:
        tf.config.experimental.reset_memory_stats("GPU:0")
    _prepare(name, impl, dtype, xla, size, batch_size, model_args)
    if gpus:
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return _status_mib("VmHWM") - baseline


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
    measured = _subprocess({"peak": True})
    if "gflops" not in measured:
        raise SystemExit(f"error: the matrix-multiply measurement failed: {measured['error']}")
    peak = measured["gflops"]
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s", flush=True)
    rows, memories = [], {}
    for name in names:
        info = keras_cnns.model_info(name)
        size = args.size or info.default_size
        impls = ["ours", "keras"] if info.keras_application else ["ours"]
        variants = [{}] + ([KERAS_LAYOUT[name]] if name in KERAS_LAYOUT and info.keras_application else [])
        for dtype in dtypes:
            for xla in xlas:
                for model_args in variants:
                    row = {"model": name, "model_args": model_args, "size": size, "dtype": dtype, "xla": xla}
                    common = {"name": name, "dtype": dtype, "xla": xla, "size": size, "batch_size": args.batch_size}
                    speeds = {**common, "impls": impls, "steps": args.steps, "rounds": args.rounds, "model_args": model_args}
                    rates = _subprocess({"speed": speeds})
                    for impl in impls:
                        row[impl] = {"error": rates["error"]} if "error" in rates else dict(rates[impl])
                        key = (name, impl, dtype, xla, json.dumps(model_args if impl == "ours" else {}))
                        if key not in memories:  # keras.applications' model is the same for every variant
                            memories[key] = _subprocess({"memory": {**common, "impl": impl, "model_args": model_args}})
                        row[impl]["memory"] = memories[key].get("mib", float("nan"))
                    rows.append(row)
                    print(_row(row, info), flush=True)
    text = report(rows, peak, args, machine())
    if args.results != "-":
        _write_section(args.results, text)
    print(text)
    return rows


def _row(row, info):
    ours, theirs = row["ours"], row.get("keras")
    args = ", ".join(f"{key}={value}" for key, value in row.get("model_args", {}).items())
    cells = [f"`{row['model']}`" + (f" ({args})" if args else ""), str(row["size"]), row["dtype"], "on" if row["xla"] else "off"]
    if "error" in ours:
        return "| " + " | ".join(cells + [f"failed: {ours['error']}"] + [""] * 7) + " |"
    cells += [f"{ours['train']:.1f}", f"{ours['infer']:.1f}", f"{ours['memory']:.0f}"]
    if theirs is None:
        cells += ["", "", "", ""]
    elif "error" in theirs:
        cells += [f"keras.applications failed: {theirs['error']}", "", "", ""]
    else:
        cells += [
            f"{info.keras_application}",
            f"{ours['train'] / theirs['train']:.2f}",
            f"{ours['infer'] / theirs['infer']:.2f}",
            f"{ours['memory'] / theirs['memory']:.2f}" if theirs.get("memory", 0) > 0 else "",
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
        f"Batch {args.batch_size}; {args.steps} training steps (``train_on_batch``) or inference batches "
        f"(``predict_on_batch``) a round, best of {args.rounds} rounds after two untimed steps; ours and "
        "keras.applications are built in the same process and take turns, round by round. Memory: peak MiB "
        f"({'GPU allocator' if _has_gpu() else 'resident, above the process start'}) of building, training "
        "and running the model, each in a fresh process. Ratios are ours / keras.applications (speed target: at "
        f"least {RATIO_TARGET}; a memory ratio below 1 means ours needs less).",
        "",
        f"Float32 matrix-multiply peak (2048x2048): {peak:.0f} GFLOP/s.",
        "",
        "| model | size | dtype | XLA | train img/s | infer img/s | memory MiB | keras.applications | train ratio | infer ratio | memory ratio |",
        "|---|---:|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    lines += [_row(row, keras_cnns.model_info(row["model"])) for row in rows]
    for row in rows:
        if row["model"] == "resnet50" and row["dtype"] == "float32" and "train" in row["ours"] and row["size"] == 224:
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
        if "speed" in spec:
            result = speed(**spec["speed"])
        elif "memory" in spec:
            result = {"mib": memory(**spec["memory"])}
        else:
            result = {"gflops": matmul_peak()}
        print(json.dumps(result))
        return 0
    for flag in ("batch_size", "steps", "rounds"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"error: --{flag.replace('_', '-')} must be at least 1. Received: {getattr(args, flag)}")
    args.argv = argv
    try:
        run(args)
    except ValueError as error:  # an unknown model name: one line, with the close matches
        raise SystemExit(f"error: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
