"""``python -m keras_cnns export``: the inference model in deployment formats, each checked.

::

    python -m keras_cnns export RUN [--format saved_model,onnx,litert] [--output DIR] [--no-fold]
    python -m keras_cnns export --arch NAME --weights W [--image-size S] [--num-classes N]
        [--alpha A] [--format saved_model,onnx,litert] [--output DIR] [--no-fold]

``RUN`` is a run folder of ``train.py`` (its ``best.keras``, with ``run.json``'s
classes, preprocessing and input size) or a ``.keras`` file. ``--arch`` builds a
registered model with ``--weights``: a tag of its weights ("imagenet", "torchvision"),
a file in their format, a ``.weights.h5`` file of a keras_cnns model (as ``predict``),
or a run folder or ``.keras`` file. The model exported is the inference model
(``keras_cnns.inference_model``: auxiliary classifiers are dropped), in float32 (a
mixed-precision run is rebuilt with float32 policies: ``float32_model``), with every
batch norm that follows a convolution folded into that convolution's kernel and bias
(``keras_cnns.fold_batch_norm``; ``--no-fold`` keeps them), with a dynamic batch and
the model's static square input. Each format of ``--format`` (comma-separated; default
``saved_model``, which needs no extra package) is written by Keras' ``Model.export``
into ``DIR`` (default ``RUN/export``, else ``exports/NAME``), replacing what was there:

==============  ==================  ==============  =====================================
``--format``    written to          Keras format    loaded back and run by
==============  ==================  ==============  =====================================
saved_model     DIR/saved_model/    tf_saved_model  TensorFlow (``tf.saved_model.load``)
onnx            DIR/model.onnx      onnx (tf2onnx)  onnxruntime (CPU)
litert          DIR/model.tflite    litert          the LiteRT interpreter (ai-edge-litert)
==============  ==================  ==============  =====================================

ONNX and LiteRT need the ``export`` extra (``pip install "keras-cnns[export]"``:
tf2onnx, onnx, onnxruntime, ai-edge-litert); without it they stop with one line naming
the extra, before anything is loaded. Grouped convolutions reach ONNX as grouped
``Conv`` nodes (``plain_convolutions``).

Each file is loaded back by its own runtime and run on ``SAMPLES`` sample images
(uniform 0-255 pixels, seed 0, normalized as the model expects: the run's
preprocessing, the weights', or the architecture's), and its outputs are compared with
those of the Keras model before folding, so the check covers the fold. The relative
difference is ``max|a - k| / max(max|k|, TINY)`` over the batch, with ``k`` the Keras
outputs and ``a`` the runtime's: the largest error relative to the largest output,
which stays meaningful where single outputs are near zero (small softmax
probabilities); NaN or another shape counts as infinite. A format passes at
``TOLERANCE`` (1e-4). The first line on stdout gives the shapes, the tolerance and the
number of batch norms folded, then comes one line per format; ``DIR/export.json``
records the same (``folded_batch_norms``: null with ``--no-fold``) and for each format
its path (relative to ``DIR``), runtime, converter, largest absolute and relative
differences, and the verdict; ``DIR/labels.txt`` lists the class names, one per line
(the run's; ImageNet's for pretrained 1000-class weights; not written when unknown).
The exit status is 1 when a format fails its check or cannot be written or run (its
line says why), 2 for bad input, else 0.

Example, a ResNet-20 run folder (real output)::

    $ python -m keras_cnns train --arch resnet20 --epochs 3 --output runs/resnet20-digits
    $ python -m keras_cnns export runs/resnet20-digits --format saved_model,onnx,litert
    resnet20 from runs/resnet20-digits/best.keras: input (2, 64, 64, 3), output (2, 10); tolerance 1e-04 relative; 19 batch norms folded
    saved_model  runs/resnet20-digits/export/saved_model   tensorflow 2.21.0     max rel diff 1.9e-08  PASS
    onnx         runs/resnet20-digits/export/model.onnx    onnxruntime 1.32.0    max rel diff 3.7e-08  PASS
    litert       runs/resnet20-digits/export/model.tflite  ai-edge-litert 2.3.0  max rel diff 1.9e-08  PASS
    wrote runs/resnet20-digits/export/export.json, runs/resnet20-digits/export/labels.txt

The folded SavedModel has no ``FusedBatchNormV3`` op left (19 with ``--no-fold``).
tf2onnx and the LiteRT converter fold batch norms by themselves: ``model.onnx`` and
``model.tflite`` hold the same operations either way (19 convolutions, no batch norm).
"""

import contextlib
import importlib
import importlib.metadata
import json
import os
import shutil
import warnings

import numpy as np

#: ``--format`` names: (file or folder in DIR, Keras' ``Model.export`` format, runtime package).
FORMATS = {
    "saved_model": ("saved_model", "tf_saved_model", "tensorflow"),
    "onnx": ("model.onnx", "onnx", "onnxruntime"),
    "litert": ("model.tflite", "litert", "ai-edge-litert"),
}
#: The modules each format imports to be written and run; all but TensorFlow come with
#: the ``export`` extra.
MODULES = {
    "saved_model": ("tensorflow",),
    "onnx": ("tf2onnx", "onnx", "onnxruntime"),
    "litert": ("ai_edge_litert.interpreter",),
}
DEFAULT_FORMAT = "saved_model"
#: The largest relative difference (``relative_difference``) a format may show.
TOLERANCE = 1e-4
#: The floor of the denominator of ``relative_difference``.
TINY = 1e-30
#: The batch of sample inputs, and its seed.
SAMPLES = 2
SEED = 0
EXTRA = 'pip install "keras-cnns[export]"'


def parse_formats(text):
    """The formats of a ``--format`` value, in order, without repeats.

    >>> parse_formats("onnx, saved_model,onnx")
    ['onnx', 'saved_model']

    Raises:
        ValueError: an empty or unknown name.
    """
    names = [name.strip() for name in str(text).split(",")]
    if not names or any(name not in FORMATS for name in names):
        raise ValueError(
            f"Expected `format` to be a comma-separated list of {', '.join(FORMATS)}. Received: format={text!r}"
        )
    return list(dict.fromkeys(names))


def check_runtimes(formats):
    """Imports what each format needs; ImportError naming the ``export`` extra when one
    is missing."""
    for name in formats:
        for module in MODULES[name]:
            try:
                importlib.import_module(module)
            except ImportError:
                raise ImportError(
                    f"--format {name} needs the export extra: {EXTRA} (missing: {module.split('.')[0]}). "
                    f"Received: format={name!r}"
                ) from None


def relative_difference(actual, expected):
    """``(max abs difference, max relative difference)`` of ``actual`` against ``expected``.

    The relative difference is ``max|actual - expected| / max(max|expected|, TINY)``:
    the largest error relative to the largest reference value. NaN anywhere, or other
    shapes, give infinity.

    >>> relative_difference(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    (0.0, 0.0)
    >>> relative_difference(np.array([1.0, 2.002]), np.array([1.0, 2.0]))[1] > TOLERANCE
    True
    """
    actual = np.asarray(actual, "float64")
    expected = np.asarray(expected, "float64")
    if actual.shape != expected.shape:
        return float("inf"), float("inf")
    if not (np.all(np.isfinite(actual)) and np.all(np.isfinite(expected))):
        return float("inf"), float("inf")
    if not actual.size:
        return 0.0, 0.0
    absolute = float(np.max(np.abs(actual - expected)))
    return absolute, absolute / max(float(np.max(np.abs(expected))), TINY)


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _run_saved_model(path, x):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)  # held: its variables go with it
    return np.asarray(loaded.serve(tf.constant(x)))


def _run_onnx(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _run_litert(path, x):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    (source,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(source["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


RUNNERS = {"saved_model": _run_saved_model, "onnx": _run_onnx, "litert": _run_litert}


@contextlib.contextmanager
def plain_convolutions():
    """Traces convolutions as plain ``tf.nn.convolution`` ops, for tf2onnx.

    Keras' TensorFlow backend runs a grouped convolution (AlexNet's towers, ResNeXt)
    inside an XLA-compiled function, as TensorFlow's CPU kernels lack them; tf2onnx
    leaves that function unconverted (an invalid StatefulPartitionedCall node). ONNX has
    grouped convolutions, and the graph is only traced, never run by TensorFlow, so
    while the ONNX file is written the backend's ``conv`` calls ``tf.nn.convolution``
    directly. The onnxruntime check then tells whether it computes the same. Nothing is
    patched where Keras' backend no longer has these names.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn

    original, data_format_of = getattr(nn, "conv", None), getattr(nn, "_convert_data_format", None)
    if original is None or data_format_of is None:
        yield
        return

    def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
        import keras

        data_format = data_format_of(data_format or keras.config.image_data_format(), len(inputs.shape))
        return tf.nn.convolution(inputs, kernel, strides, padding.upper(), data_format=data_format,
                                 dilations=dilation_rate)

    nn.conv = conv
    try:
        yield
    finally:
        nn.conv = original


def float32_model(model):
    """``model`` computing in float32: a model trained with mixed precision is rebuilt
    from its config with float32 policies and given its weights (which mixed precision
    keeps in float32; ``keras_cnns.fold.copy_model``). A float32 model is returned as it is."""
    from keras_cnns.fold import copy_model, is_float32

    return model if is_float32(model) else copy_model(model, float32=True)


def _imagenet_labels():
    from keras_cnns.imagenet import imagenet_classes

    return [f"{label} ({wnid})" for wnid, label in imagenet_classes()]


def _load_keras(path):
    """``(inference model, RunRecord or None, .keras file)`` of a run folder or ``.keras`` file."""
    from keras_cnns.models import load_inference_model

    return load_inference_model(path)


def _from_keras(path):
    """The model of a run folder or ``.keras`` file, its preprocessing, class names, name and size."""
    from keras_cnns.models import model_info
    from keras_cnns.weights.preprocessing import Preprocessing

    model, record, file = _load_keras(path)
    if record is not None:
        return model, record.preprocessing, list(record.class_names), f"{record.arch} from {file}", record.image_size
    try:  # a .keras file outside a run folder: the architecture's own preprocessing, when it is one
        prep = model_info(model.name).preprocessing
    except ValueError:  # else 0-255 scaled to [-1, 1]
        channels = model.input_shape[-1]
        prep = Preprocessing(mean=(127.5,) * channels, std=(127.5,) * channels)
    return model, prep, None, f"{model.name} from {file}", None


def _from_arch(args):
    """The model of ``--arch`` with ``--weights``, its preprocessing, class names, name and size."""
    from keras_cnns.models import inference_model, model_info

    info = model_info(args.arch)
    weights = args.weights
    if os.path.isdir(weights) or weights.endswith(".keras"):  # a run folder or .keras file, as RUN
        if args.num_classes is not None or args.alpha is not None:
            raise ValueError(f"A run folder or .keras file sets the model's classes and width. Received: "
                             f"weights={weights!r}, num_classes={args.num_classes!r}, alpha={args.alpha!r}")
        return _from_keras(weights)
    descriptor, path = info.resolve_weights(weights)
    if path is not None and not os.path.isfile(path):
        raise ValueError(f"No weights file at that path. Received: weights={weights!r}")
    prep = descriptor.preprocessing if descriptor is not None else info.preprocessing
    options = {}
    if args.num_classes is not None:
        options["num_classes"] = args.num_classes
    if args.image_size is not None:
        options["input_shape"] = (args.image_size, args.image_size, prep.channels)
    if args.alpha is not None:
        if "alpha" not in info.arguments:
            raise ValueError(f"{info.name} has no width multiplier. Received: alpha={args.alpha!r}")
        options["alpha"] = args.alpha
    try:
        model = inference_model(info.builder(weights=weights, data_format="channels_last", **options))
    except OSError as error:  # weights that cannot be downloaded or read: one line, as predict's
        raise ValueError(str(error)) from None
    pretrained = descriptor is not None and model.output_shape[-1] == descriptor.num_classes == 1000
    return model, prep, _imagenet_labels() if pretrained else None, f"{info.name} with weights {weights}", None


def load(args):
    """``(model, preprocessing, labels, description, size)`` of the command's arguments:
    the float32 inference model, how its inputs are normalized, its class names (or
    None), what it is in words, and its square input size."""
    for name in ("image_size", "num_classes"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"Expected --{name.replace('_', '-')} to be a positive int. Received: {name}={value}")
    building = [f"{name}={getattr(args, name)!r}" for name in ("arch", "weights", "num_classes", "alpha")
                if getattr(args, name) is not None]
    if args.run_folder is not None and building:
        raise ValueError(f"Pass a run folder, or --arch and --weights, not both. Received: run={args.run_folder!r}, "
                         f"{', '.join(building)}")
    if args.run_folder is None and not (args.arch and args.weights):
        raise ValueError("export needs a run folder (export RUN) or --arch and --weights. "
                         f"Received: arch={args.arch!r}, weights={args.weights!r}")
    model, prep, labels, description, run_size = _from_keras(args.run_folder) if args.run_folder else _from_arch(args)
    model = float32_model(model)
    fixed = model.input_shape[1:3]
    size = args.image_size or fixed[0] or run_size
    if None not in fixed and tuple(fixed) != (size, size):
        raise ValueError(f"The model takes {fixed[0]}x{fixed[1]} inputs. Received: image_size={size}")
    if size is None:
        raise ValueError("The model takes inputs of any size: give --image-size. Received: image_size=None")
    if model.input_shape[-1] != prep.channels:
        raise ValueError(f"The model takes {model.input_shape[-1]} channels, its preprocessing {prep.channels}. "
                         f"Received: input_shape={model.input_shape}")
    if labels is not None and len(labels) != model.output_shape[-1]:
        labels = None
    return model, prep, labels, description, size


def sample_inputs(preprocessing, size, batch=SAMPLES, seed=SEED):
    """``batch`` random images of ``size`` x ``size`` (uniform 0-255 pixels, ``seed``),
    normalized by ``preprocessing``; float32, channels last."""
    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0, 255, (batch, size, size, preprocessing.channels)).astype("float32")
    return np.asarray(preprocessing.normalize(pixels), "float32")


def export_format(model, name, folder, inputs, expected):
    """Writes ``model`` in format ``name`` into ``folder``, runs it on ``inputs`` with its
    runtime and compares with ``expected``; returns its ``export.json`` record."""
    import keras

    filename, keras_format, runtime = FORMATS[name]
    path = os.path.join(folder, filename)
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)
    signature = [keras.InputSpec(shape=(None, *inputs.shape[1:]), dtype="float32", name="input")]
    record = {"path": filename, "runtime": f"{runtime} {_version(runtime)}"}
    if name == "onnx":
        record["converter"] = f"tf2onnx {_version('tf2onnx')}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf2onnx's numpy 2 patch, the converters' notes
        try:
            with plain_convolutions() if name == "onnx" else contextlib.nullcontext():
                model.export(path, format=keras_format, verbose=False, input_signature=signature)
            actual = RUNNERS[name](path, inputs)
        except Exception as error:  # a converter or runtime that cannot do it: this format fails
            message = str(error).strip().splitlines()
            record.update(error=f"{type(error).__name__}: {message[0] if message else ''}"[:300],
                          max_abs_diff=None, max_rel_diff=None, passed=False)
            return record
    absolute, relative = relative_difference(actual, expected)
    record.update(max_abs_diff=absolute, max_rel_diff=relative, passed=bool(relative <= TOLERANCE))
    return record


def export(model, formats, folder, inputs, labels=None, source="", fold=True):
    """Exports ``model`` in each of ``formats`` into ``folder`` and checks each with its
    runtime on ``inputs``; writes ``export.json`` (and ``labels.txt`` when ``labels``).

    With ``fold`` (the default) what is exported is ``keras_cnns.fold_batch_norm(model)``
    (every batch norm after a convolution folded into it), and each format is still
    compared with ``model``'s own outputs: the check covers the fold.

    Returns:
        The ``export.json`` content: the model's input and output shapes, the number of
        batch norms folded (None without ``fold``), the tolerance, and per format its
        record (``export_format``).
    """
    import keras

    from keras_cnns.fold import fold_batch_norm

    os.makedirs(folder, exist_ok=True)
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    exported = fold_batch_norm(model, check=False) if fold else model  # the formats' check covers it
    report = {
        "model": source or model.name,
        "input_shape": [None, *inputs.shape[1:]],
        "output_shape": list(model.output_shape),
        "folded_batch_norms": exported.folded_batch_norms if fold else None,
        "samples": int(inputs.shape[0]),
        "tolerance": TOLERANCE,
        "relative_difference": "max|runtime - keras| / max(max|keras|, 1e-30)",
        "formats": {name: export_format(exported, name, folder, inputs, expected) for name in formats},
    }
    with open(os.path.join(folder, "export.json"), "w") as f:
        json.dump(report, f, indent=2)
    if labels is not None:
        with open(os.path.join(folder, "labels.txt"), "w") as f:
            f.writelines(f"{label}\n" for label in labels)
    return report


def _lines(folder, records):
    """One aligned line per format: name, path, runtime, difference and verdict."""
    rows = [(name, os.path.join(folder, record["path"]), record["runtime"], record) for name, record in records.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for name, path, runtime, record in rows:
        start = f"{name:<{widths[0]}}  {path:<{widths[1]}}  {runtime:<{widths[2]}}"
        if record.get("error"):
            yield f"{start}  FAIL ({record['error']})"
        else:
            yield f"{start}  max rel diff {record['max_rel_diff']:.1e}  {'PASS' if record['passed'] else 'FAIL'}"


def default_output(args):
    """``--output``'s default: ``export`` in the run folder (that of a ``.keras`` file),
    else ``exports/ARCH``."""
    source = args.run_folder or args.weights
    if args.run_folder or os.path.isdir(source) or source.endswith(".keras"):
        folder = source if os.path.isdir(source) else os.path.dirname(os.path.abspath(source))
        return os.path.join(folder, "export")
    return os.path.join("exports", args.arch)


def run(args, out, err):
    """The ``export`` command; ``args`` from ``add_arguments``. Returns the exit status.

    Raises:
        ValueError: bad input (one line).
        ImportError: a format whose runtime is not installed (the ``export`` extra).
    """
    formats = parse_formats(args.format)
    check_runtimes(formats)
    model, prep, labels, description, size = load(args)
    inputs = sample_inputs(prep, size)
    folder = args.output or default_output(args)
    report = export(model, formats, folder, inputs, labels=labels, source=description, fold=args.fold)
    output = tuple(report["output_shape"][1:])
    folded = report["folded_batch_norms"]
    print(f"{description}: input {inputs.shape}, output {(len(inputs), *output)}; "
          f"tolerance {TOLERANCE:.0e} relative; "
          f"{'batch norms not folded' if folded is None else f'{folded} batch norms folded'}", file=out)
    for line in _lines(folder, report["formats"]):
        print(line, file=out)
    written = [os.path.join(folder, "export.json")] + ([os.path.join(folder, "labels.txt")] if labels else [])
    print(f"wrote {', '.join(written)}", file=out)
    failed = [name for name, record in report["formats"].items() if not record["passed"]]
    if failed:
        print(f"error: {', '.join(failed)} failed the check against Keras (export.json)", file=err)
    return 1 if failed else 0


def add_arguments(parser):
    parser.add_argument("run_folder", nargs="?", default=None, metavar="RUN",
                        help="a run folder of train.py (best.keras, run.json) or a .keras file")
    parser.add_argument("--arch", default=None, help="registered model name, e.g. resnet50 (without RUN)")
    parser.add_argument(
        "--weights", default=None,
        help='a tag of the model\'s weights ("imagenet", "torchvision"), a file in their format, a .weights.h5 '
        "file of a keras_cnns model, or a run folder or .keras file (without RUN)",
    )
    parser.add_argument("--format", default=DEFAULT_FORMAT, metavar="LIST",
                        help=f"comma-separated: {', '.join(FORMATS)} (default {DEFAULT_FORMAT}; onnx and litert "
                             f"need the export extra: {EXTRA})")
    parser.add_argument("--output", default=None, metavar="DIR",
                        help="folder for saved_model/, model.onnx, model.tflite, export.json, labels.txt "
                             "(default: RUN/export, else exports/ARCH)")
    parser.add_argument("--no-fold", dest="fold", action="store_false",
                        help="export the batch norms as they are, not folded into the convolutions before them")
    parser.add_argument("--image-size", type=int, default=None, metavar="S",
                        help="square input size (default: the model's, else the run's)")
    parser.add_argument("--num-classes", type=int, default=None, metavar="N",
                        help="with --arch: the classes of the weights (default: the model's)")
    parser.add_argument("--alpha", type=float, default=None, metavar="A",
                        help="with --arch: MobileNet width multiplier")
