"""Where a training (or inference) step spends its time: TensorFlow's profiler, top ops.

Builds a registered model, traces and warms up its step, records ``--steps`` steps with
``tf.profiler.experimental`` and reads the trace back with the profiler's own
``framework_op_stats`` tool (what TensorBoard's profile plugin shows as "TF op stats").
Prints the op types ranked by self time, with their share of all op time and their
count per step, then the most expensive single ops. ``IDLE`` is the time the
profiler's threads waited between ops.

Usage::

    python benchmarks/profile_step.py [--model resnet50] [--size 224] [--batch-size 16]
        [--dtype float32|mixed_bfloat16] [--mode train|infer] [--fold] [--steps 2] [--top 15]
        [--logdir DIR]

``--fold`` profiles the inference of ``keras_cnns.fold_batch_norm(model)``.

The trace stays in ``--logdir`` (default: a temporary folder, removed), which
TensorBoard's profile plugin opens (``tensorboard --logdir DIR``).
"""

import argparse
import collections
import glob
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def op_stats(xplane):
    """Rows of the profiler's ``framework_op_stats`` table for one ``.xplane.pb`` file:
    dicts with ``type``, ``operation``, ``occurrences`` and ``total_self_time`` (us)."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    data, ok = plugin.xspace_to_tools_data([xplane], "framework_op_stats")
    if not ok:
        raise RuntimeError(f"TensorFlow's profiler could not read {xplane}")
    table = json.loads(data)
    table = table[0] if isinstance(table, list) else table
    columns = [column["id"] for column in table["cols"]]
    return [dict(zip(columns, [cell.get("v") for cell in row["c"]])) for row in table["rows"]]


def summarize(rows, steps, top):
    """Markdown tables: op types by self time (share, ms a step, count a step), then the
    ``top`` single ops."""
    time_by_type, count_by_type = collections.Counter(), collections.Counter()
    for row in rows:
        time_by_type[row["type"]] += row["total_self_time"]
        count_by_type[row["type"]] += row["occurrences"]
    total = sum(time_by_type.values()) or 1.0
    lines = ["| op type | share | ms a step | ops a step |", "|---|---:|---:|---:|"]
    for kind, spent in time_by_type.most_common(top):
        lines.append(f"| `{kind}` | {spent / total:.1%} | {spent / 1e3 / steps:.1f} | {count_by_type[kind] / steps:g} |")
    lines += ["", "| op | type | ms a step |", "|---|---|---:|"]
    single = sorted((row for row in rows if row["type"] != "IDLE"), key=lambda row: -row["total_self_time"])
    for row in single[:top]:
        lines.append(f"| `{row['operation']}` | `{row['type']}` | {row['total_self_time'] / 1e3 / steps:.1f} |")
    return "\n".join(lines)


def profile(model_name, size, batch_size, dtype, mode, steps, logdir, fold=False):
    """Records ``steps`` warmed-up steps of ``model_name`` into ``logdir``; returns the rows."""
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_cnns

    keras.config.set_dtype_policy(dtype)
    model = keras_cnns.create_model(model_name, input_shape=(size, size, 3))
    if fold:
        model = keras_cnns.fold_batch_norm(model)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch_size, size, size, 3)).astype("float32"))
    labels = tf.constant(np.arange(batch_size) % model.output_shape[-1])

    def step():
        if mode == "train":
            model.train_on_batch(images, labels)
        else:
            model.predict_on_batch(images)

    for _ in range(2):  # trace, then settle
        step()
    tf.profiler.experimental.start(logdir)
    for _ in range(steps):
        step()
    tf.profiler.experimental.stop()
    return op_stats(sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtype", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--mode", default="train", choices=["train", "infer"])
    parser.add_argument("--fold", action="store_true", help="with --mode infer: the model with its batch norms folded")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--logdir", default=None, help="keep the trace here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.fold and args.mode != "infer":
        parser.error(f"--fold profiles inference only. Received: --mode {args.mode} --fold")
    for flag in ("size", "batch_size", "steps", "top"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1. Received: {getattr(args, flag)}")
    logdir = args.logdir or tempfile.mkdtemp(prefix="profile-")
    try:
        rows = profile(args.model, args.size, args.batch_size, args.dtype, args.mode, args.steps, logdir, args.fold)
    finally:
        if args.logdir is None:
            shutil.rmtree(logdir, ignore_errors=True)
    folded = ", folded" if args.fold else ""
    print(f"{args.model} at {args.size}, batch {args.batch_size}, {args.dtype}, {args.mode}{folded}, {args.steps} steps:\n")
    print(summarize(rows, args.steps, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
