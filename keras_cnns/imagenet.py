"""What goes into an ImageNet classifier and what comes out: preprocessing, class names.

``preprocess_input(name, images, weights=...)`` applies the preprocessing of variant
``name``'s weights of that tag (``model_info(name).get_weights(tag).preprocessing``):
the one those weights were trained with, for instance keras.applications' own
``preprocess_input`` for ``"imagenet"`` (Caffe BGR mean subtraction for VGG and ResNet,
[-1, 1] scaling for Inception and MobileNet, ImageNet mean and std for DenseNet) and
torchvision's normalization for ``"torchvision"``. Without weights it is the
preprocessing of a model trained from scratch (``model_info(name).preprocessing``, what
``train.py`` feeds it). ``decode_predictions`` names the 1000 ILSVRC-2012 classes; the
class list ships with the package (``keras_cnns/data/imagenet_classes.txt``: WordNet id
and keras.applications' name, in class-index order), so it works offline.
"""

import functools
from importlib import resources

import keras
import numpy as np

from keras_cnns.layers._base import positive_int
from keras_cnns.models import model_info


@functools.lru_cache(maxsize=None)
def imagenet_classes():
    """The 1000 ImageNet classes as ``(wordnet_id, name)`` pairs, in class-index order.

    >>> imagenet_classes()[:2]
    (('n01440764', 'tench'), ('n01443537', 'goldfish'))
    """
    text = resources.files("keras_cnns").joinpath("data/imagenet_classes.txt").read_text()
    return tuple(tuple(line.split(" ", 1)) for line in text.splitlines())


def preprocessing(name, weights=None):
    """The ``Preprocessing`` of variant ``name`` with the weights of tag ``weights``, or
    without weights (None) that of a model trained from scratch."""
    info = model_info(name)
    return info.preprocessing if weights is None else info.get_weights(weights).preprocessing


def preprocess_input(name, images, weights=None):
    """Prepares images in 0-255 pixel values for variant ``name`` and its weights.

    ``x = (pixels[..., channel_order] - mean) / std`` with the ``Preprocessing`` of the
    variant's weights of tag ``weights`` (``"imagenet"``, ``"torchvision"``: what they
    were trained with), or for ``weights=None`` that of a model trained from scratch
    (``train.py``'s). Resizing and cropping are not done here (see
    ``keras_cnns.predict.load_image``).

    Args:
        name: a registered variant name (``"resnet50"``).
        images: a NumPy array, list or tensor of shape ``(..., height, width, channels)``
            in 0-255, channels in RGB order; the channel count must be the one the
            preprocessing is for (3, or 1 for LeNet-5).
        weights: None, or a weights tag the variant declares (``model_info(name).tags``).

    Returns:
        float32 images, a NumPy array for NumPy or list input, else a tensor. The input
        is never modified.

    Examples:

    >>> import numpy as np
    >>> preprocess_input("mobilenet", np.full((1, 2, 2, 3), 255.0), weights="imagenet")[0, 0, 0]
    array([1., 1., 1.], dtype=float32)
    >>> preprocess_input("resnet50", np.array([[[[0.0, 0.0, 255.0]]]]), weights="imagenet")[0, 0, 0]  # RGB in, BGR out
    array([ 151.061, -116.779, -123.68 ], dtype=float32)
    >>> preprocess_input("resnet50", np.full((1, 1, 1, 3), 255.0), weights="torchvision")[0, 0, 0]
    array([2.2489083, 2.4285715, 2.64     ], dtype=float32)
    >>> preprocess_input("resnet50", np.full((1, 1, 1, 3), 255.0))[0, 0, 0]  # from scratch: the same statistics
    array([2.2489083, 2.4285715, 2.64     ], dtype=float32)
    """
    prep = preprocessing(name, weights)
    try:
        return prep.normalize(images)
    except ValueError as e:
        raise ValueError(f"{name}'s preprocessing: {e}") from None


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each prediction, most probable first.

    Args:
        preds: array or tensor of shape ``(samples, 1000)``: probabilities or logits.
        top: how many classes per sample. Defaults to 5.

    Returns:
        One list per sample of ``(wordnet_id, class_name, score)`` tuples, as
        keras.applications' ``decode_predictions``.

    Examples:

    >>> import numpy as np
    >>> preds = np.zeros((1, 1000)); preds[0, 207] = 0.9; preds[0, 1] = 0.1
    >>> decode_predictions(preds, top=2)
    [[('n02099601', 'golden_retriever', 0.9), ('n01443537', 'goldfish', 0.1)]]
    """
    preds = np.asarray(keras.ops.convert_to_numpy(preds))
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of ImageNet predictions, of shape "
            f"(samples, 1000). Received: preds.shape={preds.shape}"
        )
    top = positive_int(top, "top")
    classes = imagenet_classes()
    return [
        [(*classes[i], float(row[i])) for i in np.argsort(-row, kind="stable")[:top]]
        for row in preds
    ]
