"""Model benchmark: training and inference speed and peak memory, against keras.applications
and torchvision.

For each architecture, at a chosen input size and batch, in float32 and mixed bfloat16,
with and without XLA: training images/s (SGD steps, ``train_on_batch``), inference
images/s (``predict_on_batch``), peak memory, and the inference images/s of the model
with its batch norms folded into its convolutions (``keras_cnns.fold_batch_norm``).
Each peer of ``--peers`` is measured in the same process, as a ratio ours / theirs:

- ``keras_applications``: its model of the network (``model_info(name).keras_application``).
- ``torchvision``: the model of the variant's first ``TorchvisionWeights`` descriptor,
  against ours built with those weights' builder options (ResNet-50: ``stride_in_3x3``),
  else torchvision's model of our name if no variant declares it (the same network,
  not a weights' layout). torch trains it in ``channels_last`` on all the cores
  (forward, cross-entropy, backward, SGD step with momentum) and runs it under
  ``torch.inference_mode()``; mixed bfloat16 is ``torch.autocast("cpu", torch.bfloat16)``.
  XLA applies to the Keras models only.

First the float32 matrix-multiply peak of the machine is measured; ResNet-50's training
rate is reported as a fraction of it (a training step counts 3x the forward
multiply-adds, 2 FLOPs each), and a summary line gives ResNet-50's ratios.

Speeds: each (model, dtype, XLA) runs in a fresh subprocess that builds ours, its folded
copy and the peers' models, traces them, then times them in turns, round by round, so a
slow moment of a shared machine hits all alike; each figure is the best of ``--rounds``.
Memory: each Keras model alone in a fresh subprocess (build, two training steps,
inference): the GPU allocator's peak on a GPU, else the peak resident memory above the
process's start.

Usage::

    python benchmarks/bench.py [--models twins|all|NAME,NAME] [--size 224] [--batch-size 16]
        [--dtypes float32,mixed_bfloat16] [--xla off,on] [--steps 3] [--rounds 3]
        [--peers keras_applications,torchvision] [--results benchmarks/RESULTS.md | -]

Writes (or replaces) the "Models" section of benchmarks/RESULTS.md, machine details
(CPU model and flags, library versions, torch's threads) included, and prints it.
"""

import argparse
import collections
import importlib.util
import inspect
import json
import os
import re
import signal
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
PEERS = ["keras_applications", "torchvision"]
#: The model of the summary lines (the matmul-peak share and the ratios).
SUMMARY_MODEL = "resnet50"
#: CPU flags worth naming in the machine line: vector width, bfloat16 and int8 dot products, AMX.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
#: torch's autocast type of each mixed Keras policy.
AUTOCAST = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}

#: torchvision's model of a variant: its builder name, our builder options that compute it,
#: and whether a weights descriptor declares it (False: the same network by name only).
Twin = collections.namedtuple("Twin", "model options declared")


def torchvision_twin(name):
    """torchvision's ``Twin`` of variant ``name``, or None.

    The first ``TorchvisionWeights`` descriptor of the variant gives torchvision's model and
    our builder options (its ``defaults`` and ``options``, as its weights are loaded); else
    a torchvision classification model of the same name, when no registered variant
    declares it as its weights' model (our ``googlenet`` is not torchvision's: that is
    ``googlenet_bn``).
    """
    import torchvision

    import keras_cnns
    from keras_cnns.models.convert import declared
    from keras_cnns.weights.torchvision import TorchvisionWeights

    for weights in keras_cnns.model_info(name).weights:
        if isinstance(weights, TorchvisionWeights):
            return Twin(weights.model, weights.builder_options(name, {}), True)
    claimed = {weights.model for _, weights in declared(TorchvisionWeights)}
    if name in torchvision.models.list_models(module=torchvision.models) and name not in claimed:
        return Twin(name, {}, False)
    return None


def _torch_threads():
    """The cores this process may run on: torch's thread count here."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


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


def _batch(size, batch_size, classes):
    import numpy as np

    images = np.random.default_rng(0).uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")
    return images, np.arange(batch_size) % classes


def _prepare(name, impl, dtype, xla, size, batch_size, model_args=None):
    """A compiled model and one batch, with its training and inference steps traced;
    ``impl="folded"``: ours as built with its batch norms folded, inference only."""
    import keras
    import tensorflow as tf

    import keras_cnns

    keras.config.set_dtype_policy(dtype)
    keras.utils.set_random_seed(0)
    model = _build(name, "ours" if impl == "folded" else impl, size, model_args)
    model = keras_cnns.fold_batch_norm(model) if impl == "folded" else model
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy",
                  jit_compile=xla)
    images, labels = (tf.constant(array) for array in _batch(size, batch_size, model.output_shape[-1]))
    for _ in range(2):  # the first call traces (and compiles with XLA); the second settles
        if impl != "folded":
            model.train_on_batch(images, labels)
        model.predict_on_batch(images)
    return model, images, labels


def _torch_kwargs(builder, options, classes):
    """Arguments of torchvision's ``builder`` for our model built with ``options``: the
    classes, the options its model class also takes (GoogLeNet's ``transform_input``),
    no auxiliary classifiers (ours trains without), explicit initialization where the
    class asks for the choice (GoogLeNet, Inception v3)."""
    model_class = inspect.signature(builder).return_annotation
    parameters = inspect.signature(model_class).parameters if inspect.isclass(model_class) else {}
    kwargs = {"num_classes": classes}
    kwargs.update({key: value for key, value in (("aux_logits", False), ("init_weights", True)) if key in parameters})
    kwargs.update({key: value for key, value in options.items() if key in parameters})
    return kwargs


def _torch_steps(model_name, options, dtype, size, batch_size, classes):
    """torchvision's ``model_name`` in channels_last: a training step (forward,
    cross-entropy, backward, SGD with momentum) and an inference batch, traced."""
    import torch
    import torchvision

    torch.set_num_threads(_torch_threads())
    torch.manual_seed(0)
    builder = torchvision.models.get_model_builder(model_name)
    model = builder(weights=None, **_torch_kwargs(builder, options, classes)).to(memory_format=torch.channels_last)
    images, labels = _batch(size, batch_size, classes)
    images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    labels = torch.from_numpy(labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = torch.nn.CrossEntropyLoss()
    cast = getattr(torch, AUTOCAST.get(dtype, "float32"))

    def autocast():
        return torch.autocast("cpu", dtype=cast, enabled=dtype in AUTOCAST)

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            value = loss(model(images), labels)
        value.backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.inference_mode(), autocast():
            model(images)

    for _ in range(2):
        train()
        infer()
    return {"train": train, "infer": infer}


def speed(name, impls, dtype, xla, size, batch_size, steps, rounds, model_args=None, twin=None):
    """Training and inference images/s of each implementation, measured in turns.

    ``impls``: "ours" (first), "folded" (ours as built with its batch norms folded,
    inference only), "keras" (keras.applications), "torchvision" (torchvision's model
    ``twin``, for ours built with ``model_args``). All live in this one process and
    their timed rounds alternate, so a slow moment of the machine (other tenants,
    frequency changes) hits each of them alike; each figure is the best of ``rounds``.
    """
    if "torchvision" in impls:
        import torch
        import torchvision  # noqa: F401 -- before TensorFlow: it loads Triton (keras_cnns.weights.torchvision)
    runs, results, classes = {}, {}, None
    for impl in impls:
        if impl == "torchvision":
            runs[impl] = _torch_steps(twin, model_args or {}, dtype, size, batch_size, classes)
            continue
        try:
            model, images, labels = _prepare(name, impl, dtype, xla, size, batch_size, model_args)
        except Exception as error:  # the folded copy's failure goes to its cells; the other figures stand
            if impl != "folded":
                raise
            results[impl] = {"error": f"{type(error).__name__}: {error}".splitlines()[0][:200]}
            continue
        runs[impl] = {"infer": lambda m=model, x=images: m.predict_on_batch(x)}
        if impl != "folded":
            runs[impl]["train"] = lambda m=model, x=images, y=labels: m.train_on_batch(x, y)
        classes = classes or model.output_shape[-1]
    timed = [impl for impl in impls if impl in runs]
    best = {impl: {kind: float("inf") for kind in runs[impl]} for impl in timed}
    for round_ in range(rounds):
        order = timed if round_ % 2 == 0 else timed[::-1]
        for kind in ("train", "infer"):
            for impl in (impl for impl in order if kind in runs[impl]):
                step = runs[impl][kind]
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                best[impl][kind] = min(best[impl][kind], time.perf_counter() - start)
    results.update({impl: {kind: steps * batch_size / best[impl][kind] for kind in best[impl]} for impl in timed})
    if "torchvision" in results:
        results["torchvision"]["threads"] = torch.get_num_threads()
    return results


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
    if done.returncode < 0:
        return {"error": f"crashed ({signal.Signals(-done.returncode).name})"}
    if done.returncode:  # the exception's line, not a multi-line message's last or the logs after it
        lines = done.stderr.strip().splitlines() or ["no output"]
        found = [line for line in lines if re.match(r"[\w.]+(Error|Exception|Exit)\b", line)] or lines
        return {"error": found[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _models(spec):
    import keras_cnns

    if spec == "all":
        return keras_cnns.list_models()
    if spec == "twins":  # keras.applications' networks (list_models(pretrained=True) has every source's)
        return [name for name in keras_cnns.list_models() if keras_cnns.model_info(name).keras_application]
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


def _variants(name, info, peers):
    """``(our builder options, {peer: its twin})`` of each row of ``name``: ours as
    registered and in keras.applications' layout against keras.applications, ours in
    torchvision's layout against torchvision (one row where the options agree); ours
    alone when no peer has the network."""
    rows = {}

    def add(options, impl, twin):
        rows.setdefault(json.dumps(options, sort_keys=True), (options, {}))[1][impl] = twin

    if "keras_applications" in peers and info.keras_application:
        for options in [{}] + ([KERAS_LAYOUT[name]] if name in KERAS_LAYOUT else []):
            add(options, "keras", Twin(info.keras_application, {}, True))
    twin = torchvision_twin(name) if "torchvision" in peers else None
    if twin:
        add(dict(twin.options), "torchvision", twin)
    return list(rows.values()) or [({}, {})]


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
        for model_args, twins in _variants(name, info, args.peers):
            impls = ["ours", "folded"] + [impl for impl in ("keras", "torchvision") if impl in twins]
            tv_model = twins["torchvision"].model if "torchvision" in twins else None
            for dtype in dtypes:
                for xla in xlas:
                    row = {"model": name, "model_args": model_args, "size": size, "dtype": dtype, "xla": xla,
                           "twins": twins}
                    common = {"name": name, "dtype": dtype, "xla": xla, "size": size, "batch_size": args.batch_size}
                    speeds = {**common, "impls": impls, "steps": args.steps, "rounds": args.rounds,
                              "model_args": model_args, "twin": tv_model}
                    rates = _subprocess({"speed": speeds})
                    for impl in impls:
                        row[impl] = {"error": rates["error"]} if "error" in rates else dict(rates[impl])
                    for impl in [impl for impl in impls if impl in ("ours", "keras")]:
                        key = (name, impl, dtype, xla, json.dumps(model_args if impl == "ours" else {}))
                        if key not in memories:  # keras.applications' model is the same for every variant
                            memories[key] = _subprocess({"memory": {**common, "impl": impl, "model_args": model_args}})
                        row[impl]["memory"] = memories[key].get("mib", float("nan"))
                    rows.append(row)
                    print(_row(row, args.peers), flush=True)
    text = report(rows, peak, args, _machine(machine(), rows, args.peers))
    if args.results != "-":
        _write_section(args.results, text)
    print(text)
    return rows


def cpu_flags():
    """The flags of ``CPU_FLAGS`` this CPU has (``/proc/cpuinfo``), and whether it has AMX."""
    try:
        with open("/proc/cpuinfo") as file:
            found = re.search(r"^flags\s*:(.*)$", file.read(), re.M)
    except OSError:
        found = None
    if found is None:
        return "CPU flags unknown"
    flags = found.group(1).split()
    named = ", ".join(flag for flag in CPU_FLAGS if flag in flags) or "none of " + "/".join(CPU_FLAGS)
    return f"CPU flags {named}" + ("" if any(flag.startswith("amx") for flag in flags) else ", no AMX")


def _machine(line, rows, peers):
    line = f"{line}; {cpu_flags()}"
    if "torchvision" in peers:
        import torch
        import torchvision

        threads = sorted({row["torchvision"]["threads"] for row in rows if "threads" in row.get("torchvision", {})})
        line += f"; torch {torch.__version__}, torchvision {torchvision.__version__}"
        line += f", {'/'.join(map(str, threads))} torch threads" if threads else ""
    return line


#: The report's columns of ours and of each peer, and the implementation each peer names.
COLUMNS = {
    "ours": ["train img/s", "infer img/s", "memory MiB", "infer folded img/s", "folded / unfolded"],
    "keras_applications": ["keras.applications", "train ratio", "infer ratio", "memory ratio"],
    "torchvision": ["torchvision", "tv train ratio", "tv infer ratio"],
}
IMPLS = {"keras_applications": "keras", "torchvision": "torchvision"}


def _ratio(ours, theirs, kind):
    return f"{ours[kind] / theirs[kind]:.2f}" if theirs.get(kind, 0) > 0 and kind in ours else ""


def _options(options):
    return ", ".join(f"{key}={value}" for key, value in options.items())


def _row(row, peers):
    ours, folded = row["ours"], row.get("folded", {})
    options = _options(row.get("model_args", {}))
    cells = [f"`{row['model']}`" + (f" ({options})" if options else ""), str(row["size"]), row["dtype"],
             "on" if row["xla"] else "off"]
    if "error" in ours:
        width = sum(len(COLUMNS[key]) for key in ["ours", *peers])
        return "| " + " | ".join(cells + [f"failed: {ours['error']}"] + [""] * (width - 1)) + " |"
    cells += [f"{ours['train']:.1f}", f"{ours['infer']:.1f}", f"{ours['memory']:.0f}"]
    if "error" in folded:
        cells += [f"failed: {folded['error']}", ""]
    else:
        cells += [f"{folded['infer']:.1f}", _ratio(folded, ours, "infer")]
    for peer in peers:
        theirs, twin, blank = row.get(IMPLS[peer]), row["twins"].get(IMPLS[peer]), [""] * (len(COLUMNS[peer]) - 1)
        if theirs is None:
            cells += ["", *blank]
        elif "error" in theirs:
            cells += [f"{COLUMNS[peer][0]} failed: {theirs['error']}", *blank]
        else:
            cells.append(twin.model + ("" if twin.declared else " (same network, not the weights' layout)"))
            cells += [_ratio(ours, theirs, kind) for kind in ("train", "infer", "memory")[: len(blank)]]
    return "| " + " | ".join(cells) + " |"


def _has_gpu():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _summary(rows):
    """A line a setting of XLA: SUMMARY_MODEL's ratios ours / each peer, folded / unfolded
    inference and mixed bfloat16 / float32 training."""
    lines = []
    for xla in sorted({row["xla"] for row in rows if row["model"] == SUMMARY_MODEL}):
        mine = [row for row in rows if (row["model"], row["xla"]) == (SUMMARY_MODEL, xla) and "error" not in row["ours"]]
        parts, first = [], {}
        for impl, name in (("keras", "keras.applications"), ("torchvision", "torchvision")):
            found = [row for row in mine if "train" in row.get(impl, {})]
            if found:
                options = _options(found[0]["model_args"])
                parts.append(f"ours{f' ({options})' if options else ''} / {name}: " + "; ".join(
                    f"train {_ratio(row['ours'], row[impl], 'train')}, infer {_ratio(row['ours'], row[impl], 'infer')} "
                    f"({row['dtype']})" for row in found))
        for row in mine:
            first.setdefault(row["dtype"], row)  # ours as registered where it was measured so
        folded = [f"{_ratio(row['folded'], row['ours'], 'infer')} ({dtype})" for dtype, row in first.items()
                  if "infer" in row.get("folded", {})]
        parts += ["folded / unfolded inference: " + ", ".join(folded)] if folded else []
        mixed = []
        for impl in ("ours", "torchvision"):
            # Reversed: a dtype's first row (ours as registered, not a peer's layout) wins.
            rate = {row["dtype"]: row[impl] for row in reversed(mine) if "train" in row.get(impl, {})}
            if {"float32", "mixed_bfloat16"} <= set(rate):
                mixed.append(f"{impl} {_ratio(rate['mixed_bfloat16'], rate['float32'], 'train')}")
        parts += ["mixed_bfloat16 / float32 training: " + ", ".join(mixed)] if mixed else []
        if parts:
            where = f"`{SUMMARY_MODEL}` at {mine[0]['size']}, XLA {'on' if xla else 'off'}"
            lines += ["", f"{where}: " + "; ".join(parts) + "."]
    return lines


def report(rows, peak, args, machine):
    import keras_cnns

    names = " and ".join(COLUMNS[peer][0] for peer in args.peers)
    header = ["model", "size", "dtype", "XLA"] + [column for key in ["ours", *args.peers] for column in COLUMNS[key]]
    lines = [
        SECTION,
        "",
        f"Command: `python benchmarks/bench.py {' '.join(args.argv)}`".rstrip() + f" ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {machine}.",
        "",
        f"Batch {args.batch_size}; {args.steps} training steps (``train_on_batch``) or inference batches "
        f"(``predict_on_batch``) a round, best of {args.rounds} rounds after two untimed steps; ours, ours with "
        f"its batch norms folded (``keras_cnns.fold_batch_norm``, inference only) and {names} are built in the "
        "same process and take turns, round by round. Memory: peak MiB "
        f"({'GPU allocator' if _has_gpu() else 'resident, above the process start'}) of building, training "
        "and running the Keras model, each in a fresh process. Ratios are ours / theirs (keras.applications' "
        f"speed target: at least {RATIO_TARGET}; a memory ratio below 1 means ours needs less); folded / unfolded "
        "is the folded model's inference over ours.",
    ]
    if "torchvision" in args.peers:
        lines += [
            "",
            "torchvision: the model of the variant's `TorchvisionWeights`, against ours built with those weights' "
            "builder options (after the name), else torchvision's model of our name (\"same network, not the "
            "weights' layout\"); no auxiliary classifiers. Trained in `channels_last` (forward, cross-entropy, "
            "backward, SGD step with momentum), inference under `torch.inference_mode()`; mixed_bfloat16 is "
            "`torch.autocast(\"cpu\", dtype=torch.bfloat16)`. XLA applies to the Keras models only.",
        ]
    lines += [
        "",
        f"Float32 matrix-multiply peak (2048x2048): {peak:.0f} GFLOP/s.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if column in ("model", "dtype", "XLA", "keras.applications", "torchvision") else "---:"
                       for column in header) + "|",
    ]
    lines += [_row(row, args.peers) for row in rows]
    for row in rows:
        if row["model"] == SUMMARY_MODEL and row["dtype"] == "float32" and "train" in row["ours"] and row["size"] == 224:
            flops = 3 * 2 * keras_cnns.count_macs(
                keras_cnns.create_model(SUMMARY_MODEL, input_shape=(row["size"],) * 2 + (3,), **row["model_args"]))
            share = row["ours"]["train"] * flops / 1e9 / peak
            args_text = _options(row["model_args"])
            lines += [
                "",
                f"ResNet-50{f' ({args_text})' if args_text else ''} training at {row['size']} (float32, XLA "
                f"{'on' if row['xla'] else 'off'}): {row['ours']['train'] * flops / 1e9:.0f} GFLOP/s = {share:.0%} "
                f"of the matmul peak (target at 224: at least {PEAK_TARGET:.0%}).",
            ]
    return "\n".join(lines + _summary(rows)) + "\n"


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
    parser.add_argument("--peers", default="keras_applications", help=f"comma-separated, of {', '.join(PEERS)}")
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
    args.peers = _choices(args.peers, PEERS, "--peers")
    if "torchvision" in args.peers:
        if not (importlib.util.find_spec("torch") and importlib.util.find_spec("torchvision")):
            raise SystemExit('error: --peers torchvision needs torch and torchvision: pip install "keras-cnns[torch]". '
                             f"Received: --peers={','.join(args.peers)}")
        import torchvision  # noqa: F401 -- before TensorFlow (keras_cnns.weights.torchvision says why)
    args.argv = argv
    try:
        run(args)
    except ValueError as error:  # an unknown model name: one line, with the close matches
        raise SystemExit(f"error: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
