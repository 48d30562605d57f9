"""``python -m keras_cnns predict``: classify image files with a model and its weights.

::

    python -m keras_cnns predict --arch resnet50 --weights imagenet cat.jpg dog.png

prints, for each file, the top-5 classes with their probabilities. ``--weights`` is
"imagenet" (keras.applications' weights), "torchvision" (torchvision's), a
``.weights.h5`` file saved from a keras_cnns model (``--num-classes`` and ``--labels``
describe its classes), or a keras.applications ``.h5`` file. A file that
cannot be read or decoded gets an error line on stderr; the others are still
classified, and the exit status is 1.
"""

import os

import numpy as np

#: What tf.io.decode_image reads.
FORMATS = "JPEG, PNG, GIF, BMP or WebP"


class ImageError(ValueError):
    """An image file that cannot be read or decoded."""


def load_image(path, name, image_size=None, weights=None):
    """Reads an image file and prepares it for variant ``name``.

    The evaluation transform of timm and torchvision (``keras_cnns.data.augment.
    eval_transform``): resize the shorter side to ``size / crop_pct`` (bilinear,
    antialiased), center-crop ``size`` x ``size``, then ``preprocess_input``. Grayscale and RGBA files are converted to the channels the
    model's preprocessing expects.

    Args:
        path: an image file (JPEG, PNG, GIF, BMP, WebP).
        name: a registered variant name.
        image_size: square input size; defaults to the variant's default size.
        weights: None or "imagenet" (the registered preprocessing) or "torchvision"
            (that of torchvision's weights: ``preprocess_input``).

    Returns:
        float32 array of shape (size, size, channels).

    Raises:
        ImageError: a missing, unreadable, empty, truncated or non-image file.
    """
    import tensorflow as tf

    from keras_cnns.data.augment import eval_transform
    from keras_cnns.imagenet import preprocess_input, preprocessing
    from keras_cnns.models import model_info

    prep = preprocessing(name, weights)
    size = image_size or model_info(name).default_size
    channels = len(prep.mean)
    if not os.path.isfile(path):
        raise ImageError(f"{path}: no such file")
    try:
        data = tf.io.read_file(path)
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.OpError) as e:
        reason = e.message.split(" [Op:")[0].rsplit("}} ", 1)[-1]
        raise ImageError(f"{path}: not a readable {FORMATS} image ({reason})") from None
    image = eval_transform(image, size=size, crop_pct=prep.crop_pct)
    return preprocess_input(name, image.numpy(), weights=weights)


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


def run(args, out, err):
    """The ``predict`` command; ``args`` from ``add_arguments``. Returns the exit status."""
    import keras

    from keras_cnns.models import create_model, model_info

    if args.top < 1:
        print(f"error: --top must be a positive int. Received: --top {args.top}", file=err)
        return 2
    try:
        info = model_info(args.arch)
    except ValueError as e:
        print(f"error: --arch: {e}", file=err)
        return 2
    options = dict(num_classes=args.num_classes)
    if args.image_size:
        options["input_shape"] = (args.image_size, args.image_size, len(info.preprocessing.mean))
    if args.alpha is not None:
        options["alpha"] = args.alpha
    weights = args.weights
    if weights not in ("imagenet", "torchvision") and not os.path.isfile(weights):
        print(f"error: --weights: no such file. Received: --weights {weights}", file=err)
        return 2
    try:
        model = create_model(args.arch, weights=weights, **options)
        labels = _labels(args.labels, args.num_classes)
    except (ValueError, OSError, ImportError) as e:
        print(f"error: {e}", file=err)
        return 2
    size = model.input_shape[1]
    failed = 0
    for path in args.images:
        try:
            image = load_image(path, args.arch, size, weights if weights == "torchvision" else None)
        except ImageError as e:
            print(f"error: {e}", file=err)
            failed += 1
            continue
        probs = keras.ops.convert_to_numpy(model(image[None], training=False))[0]  # softmax head
        print(path, file=out)
        for i in np.argsort(-probs, kind="stable")[: args.top]:
            print(f"  {probs[i]:7.2%}  {labels[i]}", file=out)
    return 1 if failed else 0


def add_arguments(parser):
    parser.add_argument("images", nargs="+", help="image files (JPEG, PNG, GIF, BMP, WebP)")
    parser.add_argument("--arch", required=True, help="registered model name, e.g. resnet50")
    parser.add_argument(
        "--weights",
        required=True,
        help='"imagenet" (keras.applications\' weights), "torchvision" (torchvision\'s), a .weights.h5 file '
        "of a keras_cnns model, or a keras.applications .h5 file",
    )
    parser.add_argument("--top", type=int, default=5, help="classes to print per image (default 5)")
    parser.add_argument("--num-classes", type=int, default=1000, help="classes of the weights (default 1000)")
    parser.add_argument("--labels", default=None, help="text file with one class name per line")
    parser.add_argument("--image-size", type=int, default=None, help="square input size (default: the model's)")
    parser.add_argument("--alpha", type=float, default=None, help="MobileNet width multiplier")
