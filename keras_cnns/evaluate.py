"""``python -m keras_cnns evaluate``: top-1, top-5, loss, per-class scores and confusion.

::

    python -m keras_cnns evaluate runs/lenet5-20250101-120000
    python -m keras_cnns evaluate --arch resnet50 --weights imagenet --dataset tfds:imagenet2012 --crop ten

The first evaluates a ``train.py`` run folder's ``best.keras`` on the run's own
validation data (its ``config.json``: dataset, batch size, seed, data folder; its
``run.json``: input size, preprocessing, classes), and so reproduces the
``val_accuracy`` that ``history.csv`` records for the epoch ``best.keras`` comes from.
The second evaluates a registered model with weights: a tag ("imagenet",
"torchvision"), a file in their format, a ``.weights.h5`` file of a keras_cnns model, or
a run folder or ``.keras`` file. Images are prepared as the weights say (their
``Preprocessing``: crop fraction, interpolation, normalization) unless ``--image-size``,
``--crop-pct`` or ``--crop`` say otherwise:

- ``center``: shorter side resized to ``round(size / crop_pct)``, central square crop;
- ``ten``: the 10-crop of AlexNet and GoogLeNet (the 4 corners and the center of that
  resized image, and their mirrors); the 10 crops' softmax probabilities are averaged;
- ``full``: the whole image resized to size x size.

It prints one summary line and writes, in ``--output`` (default ``RUN/eval-SPLIT-CROP/``,
else ``evals/ARCH-DATE/``), ``eval.json`` (the numbers, the options, the counts),
``per_class.csv`` and ``confusion.png``. A real run (``python train.py --arch lenet5
--epochs 10``: its history.csv's best ``val_accuracy`` is 0.97778, at epoch 5; the last
epoch's is 0.975)::

    $ python -m keras_cnns evaluate runs/lenet5-digits-64
    lenet5 on digits (validation split, 360 images, center crop 64x64): top-1 97.78% (352 of 360), top-5 99.72%, loss 0.1200
    eval.json, per_class.csv, confusion.png in runs/lenet5-digits-64/eval-validation-center
    $ python -m keras_cnns evaluate runs/lenet5-digits-64 --crop ten
    lenet5 on digits (validation split, 360 images, ten crop 64x64): top-1 92.50% (333 of 360), top-5 99.72%, loss 0.5161
    eval.json, per_class.csv, confusion.png in runs/lenet5-digits-64/eval-validation-ten

(LeNet-5's crop fraction is 1: its five crops are the same image, and mirrored digits
are other shapes; the 10-crop is for ImageNet-style crops of natural images.)

Definitions. top-1 and top-5 count an image as right when its label is the most
probable class (the first of equal ones, as ``argmax``), or when fewer than 5 classes
are strictly more probable than its label (Keras' ``SparseTopKCategoricalAccuracy``).
The loss is the mean cross-entropy ``-log p(label)`` of the (averaged) probabilities,
clipped to [1e-7, 1 - 1e-7] as Keras clips them. Per class: ``count`` images of that
class, ``predicted`` images predicted as it, ``accuracy`` the share of the class's
images classified right (top-1 on that class: the CIFAR tutorials' "accuracy of class
X", equal to its recall), ``top5`` the same with top-5, ``precision`` the share of the
images predicted as the class that are of it: 0 when none is (scikit-learn's
``zero_division`` default), ``recall`` its share of the class's images found (0 for a
class without images).
"""

import csv
import datetime
import json
import os

import numpy as np

SPLITS = ("validation", "train", "test")
CROPS = ("center", "ten", "full")
#: The confusion plot shows at most this many classes: the most confused ones.
MAX_SHOWN = 30
#: Keras' clipping of probabilities in its cross-entropy.
EPSILON = 1e-7


def evaluate(model, dataset, class_names, *, return_probabilities=False):
    """Scores ``model`` on ``dataset``.

    Args:
        model: a Keras model whose (first) output is softmax probabilities over
            ``len(class_names)`` classes.
        dataset: batches of ``(images, labels)``: images (B, H, W, C), or
            (B, N, H, W, C) for N crops per image (``load_split(crop="ten")``), whose
            probabilities are averaged; int labels (B,).
        class_names: the class names, in label order.
        return_probabilities: also return the (averaged) probabilities, (count, K).

    Returns:
        A dict: ``top1``, ``top5``, ``loss``, ``count``, ``crops`` (per image),
        ``class_names``, ``confusion`` (int64 (K, K), rows true classes, columns
        predictions), ``per_class`` (a list of dicts: ``class``, ``count``,
        ``predicted``, ``accuracy``, ``top5``, ``precision``, ``recall``), ``labels``
        and ``predictions`` (int arrays) and, if asked, ``probabilities``.

    >>> import keras, tensorflow as tf
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Softmax()])
    >>> logits = [[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 3.0, 1.0], [1.0, 0.0, 2.0]]
    >>> batches = tf.data.Dataset.from_tensor_slices((logits, [0, 1, 2, 2])).batch(3)
    >>> result = evaluate(model, batches, ["a", "b", "c"])
    >>> result["top1"], round(result["loss"], 4), result["confusion"].tolist()
    (0.75, 0.7887, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    >>> [(row["class"], row["precision"], row["recall"]) for row in result["per_class"]]
    [('a', 1.0, 1.0), ('b', 0.5, 1.0), ('c', 1.0, 0.5)]
    """
    import tensorflow as tf

    classes = len(class_names)
    outputs = model.output_shape[-1] if not isinstance(model.output_shape, list) else model.output_shape[0][-1]
    if outputs != classes:
        raise ValueError(
            f"The model has {outputs} outputs, the dataset {classes} classes: evaluate a model on the classes it "
            f"was trained on. Received: {classes} class names"
        )

    @tf.function(reduce_retracing=True)
    def predict(images):
        probabilities = model(images, training=False)
        if isinstance(probabilities, (list, tuple)):  # auxiliary heads: the main output is the first
            probabilities = probabilities[0]
        return tf.cast(probabilities, tf.float32)

    confusion = np.zeros((classes, classes), np.int64)
    top5_hits = np.zeros(classes, np.int64)
    losses, all_labels, all_predictions, kept = [], [], [], []
    crops = 1
    for images, labels in dataset:
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(labels) == 0:
            continue
        if labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"Expected labels in [0, {classes}). Received: labels {sorted(set(labels.tolist()))}")
        if images.shape.rank == 5:  # several crops per image: one batch of all, then averaged
            crops = int(images.shape[1])
            flat = tf.reshape(images, [-1, *images.shape[2:]])
            probabilities = np.asarray(predict(flat), np.float64).reshape(len(labels), crops, classes).mean(axis=1)
        else:
            probabilities = np.asarray(predict(images), np.float64)
        if not all_labels and not np.allclose(probabilities.sum(axis=-1), 1.0, atol=1e-3):
            raise ValueError(
                "evaluate expects a model whose output is softmax probabilities (classifier_activation='softmax'). "
                f"Received: outputs summing to {probabilities.sum(axis=-1)[:3].round(4).tolist()}"
            )
        truth = probabilities[np.arange(len(labels)), labels]
        predictions = np.argmax(probabilities, axis=-1)
        np.add.at(confusion, (labels, predictions), 1)
        np.add.at(top5_hits, labels, (probabilities > truth[:, None]).sum(axis=-1) < 5)
        losses.append(-np.log(np.clip(truth, EPSILON, 1.0 - EPSILON)))
        all_labels.append(labels)
        all_predictions.append(predictions)
        if return_probabilities:
            kept.append(probabilities)
    count = int(confusion.sum())
    if count == 0:
        raise ValueError("The dataset holds no example to evaluate. Received: an empty dataset")
    result = {
        "top1": float(np.trace(confusion) / count),
        "top5": float(top5_hits.sum() / count),
        "loss": float(np.concatenate(losses).mean()),
        "count": count,
        "crops": crops,
        "class_names": list(class_names),
        "confusion": confusion,
        "per_class": per_class_scores(confusion, top5_hits, class_names),
        "labels": np.concatenate(all_labels),
        "predictions": np.concatenate(all_predictions),
    }
    if return_probabilities:
        result["probabilities"] = np.concatenate(kept)
    return result


def per_class_scores(confusion, top5_hits, class_names):
    """Per class: count, predicted, accuracy (= recall), top5, precision (0 when nothing
    is predicted as the class), recall (0 for a class without images)."""
    correct = np.diag(confusion)
    counts, predicted = confusion.sum(axis=1), confusion.sum(axis=0)

    def share(part, whole):
        return float(part / whole) if whole else 0.0

    return [
        {"class": str(name), "count": int(counts[i]), "predicted": int(predicted[i]),
         "accuracy": share(correct[i], counts[i]), "top5": share(top5_hits[i], counts[i]),
         "precision": share(correct[i], predicted[i]), "recall": share(correct[i], counts[i])}
        for i, name in enumerate(class_names)
    ]


def most_confused(confusion, limit=MAX_SHOWN):
    """The indices (sorted) of the ``limit`` classes with the most mistakes, as true class
    and as prediction; all of them when there are at most ``limit``."""
    confusion = np.asarray(confusion)
    if len(confusion) <= limit:
        return list(range(len(confusion)))
    mistakes = confusion - np.diag(np.diag(confusion))
    score = mistakes.sum(axis=0) + mistakes.sum(axis=1)
    return sorted(np.argsort(-score, kind="stable")[:limit].tolist())


def plot_confusion(confusion, class_names, path, title=""):
    """Draws the confusion matrix (rows: true classes, columns: predictions; counts in the
    cells, colors their share of the row) in ``path``; for more than ``MAX_SHOWN``
    classes, only the most confused. Returns the indices of the classes drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = most_confused(confusion)
    matrix = np.asarray(confusion)[np.ix_(shown, shown)]
    names = [str(class_names[i]) for i in shown]
    rows = np.maximum(np.asarray(confusion).sum(axis=1)[shown], 1)[:, None]
    side = max(4.0, 0.35 * len(shown) + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(matrix / rows, cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] / rows[i, 0] > 0.5 else "black")
    ax.set_xticks(range(len(shown)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(shown)), names, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    part = f" ({len(shown)} most confused of {len(class_names)} classes)" if len(shown) < len(class_names) else ""
    ax.set_title(title + part, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return shown


def write_outputs(folder, result, options, skipped=()):
    """Writes ``eval.json``, ``per_class.csv`` and ``confusion.png`` in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    summary = {key: result[key] for key in ("top1", "top5", "loss", "count", "crops")}
    summary.update(num_classes=len(result["class_names"]), skipped=len(skipped), options=options,
                   per_class="per_class.csv", confusion="confusion.png")
    with open(os.path.join(folder, "eval.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(folder, "per_class.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, ["class", "count", "predicted", "accuracy", "top5", "precision", "recall"])
        writer.writeheader()
        writer.writerows(result["per_class"])
    title = (f"{options.get('arch')} on {options.get('dataset')} ({options.get('split')}, {options.get('crop')} crop): "
             f"top-1 {result['top1']:.1%}")
    plot_confusion(result["confusion"], result["class_names"], os.path.join(folder, "confusion.png"), title=title)


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Expected --{name} to be one of {list(choices)}. Received: {name}={value!r}")


def _load_keras(path):
    """The inference model of a run folder's ``best.keras`` or of a ``.keras`` file."""
    from keras_cnns.models import load_inference_model

    return load_inference_model(path)[0]


def _from_run(args):
    """Model, preprocessing, size, class names and data options of a run folder."""
    from keras_cnns.models import model_info
    from keras_cnns.weights.saved import read_run

    path = args.run_folder
    model = _load_keras(path)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    config_path = os.path.join(folder, "config.json")
    if not os.path.isfile(config_path):
        raise ValueError(f"A run folder holds the config.json of its run; {folder} has none. Received: run={path!r}")
    with open(config_path) as f:
        config = json.load(f)
    record = read_run(folder)
    arch = record.arch if record else config["arch"]
    prep = record.preprocessing if record else model_info(arch).preprocessing
    size = record.image_size if record else config.get("image_size")
    data = dict(dataset=config.get("dataset", "digits"), batch_size=config.get("batch_size") or 32,
                seed=config.get("seed", 0), data_dir=config.get("data_dir"))
    names = tuple(record.class_names) if record else None
    return model, arch, prep, size, names, data, os.path.join(folder, f"eval-{args.split}-{args.crop}")


def _from_weights(args, load_data):
    """Model and preprocessing of ``--arch`` with ``--weights``; ``load_data(prep, size)``
    gives the data (its class names size a ``.weights.h5`` model's classifier)."""
    from keras_cnns.models import model_info
    from keras_cnns.weights.saved import read_run

    info = model_info(args.arch)
    weights = args.weights
    keras_file = os.path.isdir(weights) or weights.endswith(".keras")
    descriptor, path = (None, weights) if keras_file else info.resolve_weights(weights)
    if path is not None and not os.path.exists(path):
        raise ValueError(f"No weights file at that path. Received: weights={weights!r}")
    if keras_file:
        model = _load_keras(weights)
        record = read_run(weights)
        prep = record.preprocessing if record else info.preprocessing
        size = model.input_shape[1] or (record.image_size if record else None) or info.default_size
    else:
        prep = descriptor.preprocessing if descriptor is not None else info.preprocessing
        size = info.default_size
    size = args.image_size or size
    prep = _override(prep, args)
    data = load_data(prep, size)
    if not keras_file:
        classes = (descriptor.num_classes if descriptor is not None else None) or len(data[1])
        if classes != len(data[1]):
            raise ValueError(
                f"The {weights!r} weights of {args.arch} have {classes} classes, {args.dataset} has {len(data[1])}: "
                f"evaluate weights on the classes they were trained on. Received: dataset={args.dataset!r}"
            )
        model = info.builder(weights=weights, num_classes=classes, input_shape=(size, size, prep.channels),
                             data_format="channels_last")
    return model, prep, size, data


def _check_input_size(model, size):
    fixed = model.input_shape[1:3]
    if None not in fixed and tuple(fixed) != (size, size):
        raise ValueError(f"The model takes {fixed[0]}x{fixed[1]} inputs. Received: image_size={size}")


def _override(prep, args):
    import dataclasses

    if args.crop_pct is None:
        return prep
    if not 0 < args.crop_pct <= 1:
        raise ValueError(f"Expected --crop-pct in (0, 1]. Received: crop_pct={args.crop_pct}")
    return dataclasses.replace(prep, crop_pct=args.crop_pct)


def run(args, out, err):
    """The ``evaluate`` command; ``args`` from ``add_arguments``. Returns the exit status
    (2, with one ``error:`` line on ``err``, for weights or data that cannot be read).

    Raises:
        ValueError: bad input (one line; ``python -m keras_cnns`` prints it).
    """
    try:
        return _run(args, out)
    except OSError as error:  # weights that cannot be downloaded, a file that cannot be read
        print(f"error: {error}", file=err)
        return 2


def _run(args, out):
    from keras_cnns.data import load_split

    _check_choice("split", args.split, SPLITS)
    _check_choice("crop", args.crop, CROPS)
    for name in ("image_size", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"Expected --{name.replace('_', '-')} to be a positive int. Received: {name}={value}")
    if args.run_folder is not None and (args.arch or args.weights):
        raise ValueError(f"Pass a run folder, or --arch and --weights, not both. Received: run={args.run_folder!r}, "
                         f"arch={args.arch!r}, weights={args.weights!r}")
    if args.run_folder is None and not (args.arch and args.weights and args.dataset):
        raise ValueError("evaluate needs a run folder (evaluate RUN) or --arch, --weights and --dataset. "
                         f"Received: arch={args.arch!r}, weights={args.weights!r}, dataset={args.dataset!r}")

    def load_data(prep, size, dataset, batch_size, seed, data_dir):
        return load_split(dataset, split=args.split, image_size=size, preprocessing=prep, batch_size=batch_size,
                          crop=args.crop, seed=seed, data_dir=data_dir)

    if args.run_folder is not None:
        model, arch, prep, size, names, options, folder = _from_run(args)
        options = {**options, **{k: getattr(args, k) for k in ("dataset", "batch_size", "seed", "data_dir")
                                 if getattr(args, k) is not None}}
        prep = _override(prep, args)
        size = args.image_size or size or model.input_shape[1]
        _check_input_size(model, size)
        batches, class_names, count, skipped = load_data(prep, size, **options)
        if names is not None and tuple(class_names) != names:
            raise ValueError(f"The run was trained on the classes {list(names)}. Received: {options['dataset']} "
                             f"with classes {list(class_names)}")
        weights = os.path.abspath(args.run_folder)
    else:
        arch, weights = args.arch, args.weights
        options = dict(dataset=args.dataset, batch_size=args.batch_size or 32, seed=args.seed or 0,
                       data_dir=args.data_dir)
        model, prep, size, (batches, class_names, count, skipped) = _from_weights(
            args, lambda prep, size: load_data(prep, size, **options))
        folder = os.path.join("evals", f"{arch}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    _check_input_size(model, size)
    folder = args.output or folder
    result = evaluate(model, batches, class_names)
    resize = size if args.crop == "full" else round(size / prep.crop_pct)
    settings = dict(run=os.path.abspath(args.run_folder) if args.run_folder else None, arch=arch, weights=weights,
                    dataset=options["dataset"], split=args.split, crop=args.crop, image_size=size, resize=resize,
                    crop_pct=prep.crop_pct, interpolation=prep.interpolation, batch_size=options["batch_size"],
                    seed=options["seed"], data_dir=options["data_dir"], examples=count)
    write_outputs(folder, result, settings, skipped)
    correct = int(np.trace(result["confusion"]))
    print(f"{arch} on {options['dataset']} ({args.split} split, {result['count']} images, {args.crop} crop "
          f"{size}x{size}): top-1 {result['top1']:.2%} ({correct} of {result['count']}), top-5 "
          f"{result['top5']:.2%}, loss {result['loss']:.4f}", file=out)
    print(f"eval.json, per_class.csv, confusion.png in {folder}", file=out)
    return 0


def add_arguments(parser):
    parser.add_argument("run_folder", nargs="?", default=None, metavar="RUN",
                        help="a train.py run folder (its best.keras on its own validation data) or a .keras file in one")
    parser.add_argument("--arch", default=None, help="registered model name, e.g. resnet50 (without RUN)")
    parser.add_argument(
        "--weights", default=None,
        help='a tag of the model\'s weights ("imagenet", "torchvision"), a file in their format, a .weights.h5 '
        "file of a keras_cnns model, or a run folder or .keras file (without RUN)",
    )
    parser.add_argument("--dataset", default=None, metavar="SPEC",
                        help="digits, tfds:NAME, folder:PATH or synthetic[:...] (default with RUN: the run's)")
    parser.add_argument("--split", default="validation", help=f"one of {', '.join(SPLITS)} (default: validation)")
    parser.add_argument("--crop", default="center",
                        help="center (default), ten (4 corners + center and their mirrors, averaged) or full")
    parser.add_argument("--image-size", type=int, default=None, metavar="S",
                        help="square input size (default: the run's, else the model's)")
    parser.add_argument("--crop-pct", type=float, default=None, metavar="F",
                        help="the crop's share of the resized shorter side (default: the weights')")
    parser.add_argument("--batch-size", type=int, default=None, metavar="B", help="default: the run's, else 32")
    parser.add_argument("--seed", type=int, default=None, help="seed of a folder's hold-out (default: the run's, else 0)")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help="tensorflow-datasets folder")
    parser.add_argument("--output", default=None, metavar="DIR",
                        help="where eval.json, per_class.csv and confusion.png go "
                        "(default: RUN/eval-SPLIT-CROP, else evals/ARCH-DATE)")
