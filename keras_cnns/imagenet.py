"""What goes into an ImageNet classifier and what comes out: preprocessing, class names.

``preprocess_input(name, images)`` applies the preprocessing registered for variant
``name`` (``model_info(name).preprocessing``), which for the models with ImageNet weights
is the one those weights were trained with: Caffe BGR mean subtraction for VGG and
ResNet, [-1, 1] scaling for Inception and MobileNet, ImageNet mean and std for DenseNet
(keras.applications' ``preprocess_input`` of each). ``decode_predictions`` names the
1000 ILSVRC-2012 classes; the class list ships with the package
(``keras_cnns/data/imagenet_classes.txt``: WordNet id and keras.applications' name, in
class-index order), so it works offline.
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
    """The ``Preprocessing`` of variant ``name``: the registered one (that of its
    keras.applications weights, where it has them), or with ``weights="torchvision"``
    torchvision's (``keras_cnns.torchvision.preprocessing``)."""
    if weights == "torchvision":
        from keras_cnns.torchvision import preprocessing as torchvision_preprocessing

        model_info(name)  # unknown names fail here first
        return torchvision_preprocessing(name)
    if weights not in (None, "imagenet"):
        raise ValueError(
            f"Expected `weights` to be None, 'imagenet' or 'torchvision'. Received: weights={weights!r}"
        )
    return model_info(name).preprocessing


def preprocess_input(name, images, weights=None):
    """Prepares images in 0-255 pixel values for variant ``name``.

    ``x = (pixels[..., channel_order] - mean) / std`` with the variant's registered
    ``Preprocessing``, or with ``weights="torchvision"`` the one of torchvision's weights
    (RGB, ImageNet mean and std). Resizing and cropping are not done here (see
    ``keras_cnns.predict.load_image``).

    Args:
        name: a registered variant name (``"resnet50"``).
        images: a NumPy array, list or tensor of shape ``(..., height, width, channels)``
            in 0-255, channels in RGB order; the channel count must be the one the
            preprocessing is for (3, or 1 for LeNet-5).
        weights: None or "imagenet" (the registered preprocessing), or "torchvision".

    Returns:
        float32 images, a NumPy array for NumPy or list input, else a tensor. The input
        is never modified.

    Examples:

    >>> import numpy as np
    >>> preprocess_input("mobilenet", np.full((1, 2, 2, 3), 255.0))[0, 0, 0]
    array([1., 1., 1.], dtype=float32)
    >>> preprocess_input("resnet50", np.array([[[[0.0, 0.0, 255.0]]]]))[0, 0, 0]  # RGB in, BGR out
    array([ 151.061, -116.779, -123.68 ], dtype=float32)
    >>> preprocess_input("resnet50", np.full((1, 1, 1, 3), 255.0), weights="torchvision")[0, 0, 0]
    array([2.2489083, 2.4285715, 2.64     ], dtype=float32)
    """
    prep = preprocessing(name, weights)
    shape = tuple(images.shape if hasattr(images, "shape") else np.shape(images))
    if shape[-1] != len(prep.mean):
        raise ValueError(
            f"{name}'s preprocessing is for images with {len(prep.mean)} channels (last axis). "
            f"Received: images.shape={shape}"
        )
    mean = np.asarray(prep.mean, "float32")
    std = np.asarray(prep.std, "float32")
    if isinstance(images, (np.ndarray, list, tuple)):
        x = np.asarray(images, dtype="float32")
        if prep.channel_order == "BGR":
            x = x[..., ::-1]
        return (x - mean) / std
    x = keras.ops.cast(images, "float32")
    if prep.channel_order == "BGR":
        x = keras.ops.flip(x, axis=-1)
    return (x - mean) / std


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
