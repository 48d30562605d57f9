"""``python -m keras_cnns predict``: classify image files with a model and its weights.

::

    python -m keras_cnns predict --arch resnet50 --weights imagenet cat.jpg dog.png

    python -m keras_cnns predict --weights runs/resnet18-20261203-101500 photo.jpg

prints, for each file, the top-5 classes with their probabilities. ``--weights`` is a
tag of the model's weights ("imagenet": keras.applications', "torchvision":
torchvision's), a file in one of their formats (a keras.applications ``.h5``), a run
folder of ``train.py`` or a ``.keras`` file in one (the run's architecture, classes,
input size and preprocessing come from its ``run.json``: ``--arch`` may be left out),
or a ``.weights.h5`` / ``.keras`` file saved from a keras_cnns model
(``--num-classes`` and ``--labels`` describe its classes). Images are prepared as the
weights expect: the descriptor's preprocessing, the run's, or for a file outside a run
that of a model trained from scratch (``train.py``'s). Each batch norm that follows a
convolution is folded into it first (``keras_cnns.fold_batch_norm``; stderr says how
many): the same probabilities, to float32 rounding, with one
layer fewer per pair. ``--no-fold`` keeps them. A file that cannot be read or decoded gets an error line on
stderr; the others are still classified, and the exit status is 1.
"""

import collections
import os

import numpy as np

#: What tf.io.decode_image reads.
FORMATS = "JPEG, PNG, GIF, BMP or WebP"


class ImageError(ValueError):
    """An image file that cannot be read or decoded."""


def load_image(path, preprocessing, image_size):
    """Reads an image file and prepares it as ``preprocessing`` says.

    The evaluation transform of timm and torchvision (``keras_cnns.data.augment.
    eval_transform``): resize the shorter side to ``size / crop_pct`` (antialiased, with
    the preprocessing's interpolation: timm's weights are evaluated bicubic),
    center-crop ``size`` x ``size``, then normalize
    (``Preprocessing.normalize``). Grayscale and RGBA files are converted to the channels
    the preprocessing expects.

    Args:
        path: an image file (JPEG, PNG, GIF, BMP, WebP).
        preprocessing: a ``keras_cnns.weights.Preprocessing`` (the weights' own, or
            ``model_info(name).preprocessing`` for a model trained from scratch).
        image_size: square input size.

    Returns:
        float32 array of shape (size, size, channels).

    Raises:
        ImageError: a missing, unreadable, empty, truncated or non-image file.
    """
    import tensorflow as tf

    from keras_cnns.data.augment import eval_transform

    if not os.path.isfile(path):
        raise ImageError(f"{path}: no such file")
    try:
        data = tf.io.read_file(path)
        image = tf.io.decode_image(data, channels=preprocessing.channels, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.OpError) as e:
        reason = e.message.split(" [Op:")[0].rsplit("}} ", 1)[-1]
        raise ImageError(f"{path}: not a readable {FORMATS} image ({reason})") from None
    image = eval_transform(image, size=image_size, crop_pct=preprocessing.crop_pct, interpolation=preprocessing.interpolation)
    return preprocessing.normalize(image.numpy())


def read_images(paths, preprocessing, image_size, err):
    """Yields ``(path, image)`` for each file that ``load_image`` reads, and prints an
    error line on ``err`` for each that it cannot (the others are still read)."""
    for path in paths:
        try:
            image = load_image(path, preprocessing, image_size)
        except ImageError as e:
            print(f"error: {e}", file=err)
            continue
        yield path, image


def _labels(path, num_classes):
    if path is None:
        if num_classes == 1000:
            from keras_cnns.imagenet import imagenet_classes

            return [f"{label} ({wnid})" for wnid, label in imagenet_classes()]
        return [f"class {i}" for i in range(num_classes)]
    with open(path) as f:
        labels = [line.strip() for line in f if line.strip()]
    if len(labels) != num_classes:
        raise ValueError(
            f"--labels must list one name per class ({num_classes}). Received: {len(labels)} names in {path}"
        )
    return labels


#: What ``load`` returns.
Loaded = collections.namedtuple("Loaded", "info model preprocessing labels")


def load(arch, weights, num_classes=None, image_size=None, alpha=None, labels=None):
    """The model a command runs on images, with its preprocessing and class names.

    Args:
        arch: registered model name, or None when ``weights`` is a run folder (or a
            ``.keras`` file in one): the run's.
        weights: as ``predict --weights``.
        num_classes, image_size, alpha: builder options (None: the weights' own).
        labels: a text file with a class name per line, or None: the run's class names,
            ImageNet's for 1000 classes, else "class N".

    Returns:
        A ``Loaded``: ``(info, model, preprocessing, labels)``.

    Raises:
        ValueError: a bad option, named as on the command line (``--arch: ...``).
        OSError, ImportError: unreadable weights, a missing extra.
    """
    from keras_cnns.models import model_info
    from keras_cnns.weights import read_run

    record = read_run(weights) if os.path.exists(weights) else None
    if arch is None and record is None:
        raise ValueError("--arch is needed unless --weights is a run folder (or a .keras file in one). "
                         f"Received: --weights {weights}")
    try:
        info = model_info(arch or record.arch)
    except ValueError as e:
        raise ValueError(f"--arch: {e}") from None
    try:
        descriptor, path = info.resolve_weights(weights)
    except ValueError as e:
        raise ValueError(f"--weights: {e}") from None
    if path is not None and not os.path.exists(path):
        raise ValueError(f"--weights: no such file. Received: --weights {weights}")
    prep = descriptor.preprocessing if descriptor is not None else info.preprocessing
    # Without --num-classes: the weights' own classes (a run's, a Keras file's, 1000 for a tag's).
    options = {} if num_classes is None else dict(num_classes=num_classes)
    size = image_size or (record.image_size if record else None)
    if size:
        options["input_shape"] = (size, size, prep.channels)
    if alpha is not None:
        options["alpha"] = alpha
    model = info.builder(weights=weights, data_format="channels_last", **options)  # the images' layout
    classes = model.output_shape[-1]
    names = (list(record.class_names) if record and not labels and classes == record.num_classes
             else _labels(labels, classes))
    return Loaded(info, model, prep, names)


def run(args, out, err):
    """The ``predict`` command; ``args`` from ``add_arguments``. Returns the exit status."""
    import keras

    if args.top < 1:
        print(f"error: --top must be a positive int. Received: --top {args.top}", file=err)
        return 2
    try:
        info, model, prep, labels = load(args.arch, args.weights, args.num_classes, args.image_size, args.alpha,
                                         args.labels)
        if args.fold:
            from keras_cnns.fold import fold_batch_norm

            model = fold_batch_norm(model, check=False)  # exact arithmetic, tested on every family
            print(f"{info.name}: {model.folded_batch_norms} batch norms folded into their convolutions "
                  "(--no-fold keeps them)", file=err)
    except (ValueError, OSError, ImportError) as e:
        print(f"error: {e}", file=err)
        return 2
    done = 0
    for path, image in read_images(args.images, prep, model.input_shape[1], err):
        done += 1
        probs = keras.ops.convert_to_numpy(model(image[None], training=False))[0]  # softmax head
        print(path, file=out)
        for i in np.argsort(-probs, kind="stable")[: args.top]:
            print(f"  {probs[i]:7.2%}  {labels[i]}", file=out)
    return 1 if done < len(args.images) else 0


def add_model_arguments(parser):
    """The options that choose the model and its weights (``load``'s), shared with
    ``visualize``."""
    parser.add_argument("--arch", help="registered model name, e.g. resnet50 (default: a run folder's)")
    parser.add_argument(
        "--weights",
        required=True,
        help='a tag of the model\'s weights ("imagenet": keras.applications\', "torchvision": torchvision\'s), '
        "a file in their format (a keras.applications .h5), a run folder of train.py (or its .keras file), "
        "or a .weights.h5 or .keras file of a keras_cnns model",
    )
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes of the weights (default: the run's, else 1000)")
    parser.add_argument("--labels", default=None, help="text file with one class name per line")
    parser.add_argument("--image-size", type=int, default=None, help="square input size (default: the model's)")
    parser.add_argument("--alpha", type=float, default=None, help="MobileNet width multiplier")


def add_arguments(parser):
    parser.add_argument("images", nargs="+", help="image files (JPEG, PNG, GIF, BMP, WebP)")
    add_model_arguments(parser)
    parser.add_argument("--top", type=int, default=5, help="classes to print per image (default 5)")
    parser.add_argument("--no-fold", dest="fold", action="store_false",
                        help="keep the batch norms, not folded into the convolutions before them")
