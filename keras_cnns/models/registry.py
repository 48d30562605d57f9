"""The model registry: every architecture variant, its builder and its metadata.

train.py, tuning/, the docs and the tests all read this one registry.
"""

import dataclasses
import difflib
import fnmatch
import functools
import re
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How images are prepared for a model, in 0-255 pixel units.

    ``x = (pixels[..., order] - mean) / std`` after resizing the shorter side to
    ``size / crop_pct`` and center-cropping ``size``.
    """

    mean: tuple
    std: tuple
    channel_order: str = "RGB"
    crop_pct: float = 0.875
    interpolation: str = "bilinear"


#: ImageNet mean/std on RGB scaled to [0, 1] (torchvision, timm), in pixel units.
IMAGENET_RGB = Preprocessing(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
#: Caffe: BGR with the ImageNet mean subtracted, no scaling (keras.applications VGG, ResNet).
IMAGENET_CAFFE = Preprocessing(mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0), channel_order="BGR")
#: Inception: RGB scaled to [-1, 1] (TF-slim, keras.applications Inception and MobileNet).
IMAGENET_INCEPTION = Preprocessing(mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5))


@dataclasses.dataclass(frozen=True)
class PaperError:
    """The ImageNet error a model's paper reports, in %.

    ILSVRC-2012 validation unless ``protocol`` says otherwise. Papers evaluate in
    different ways (one center crop, 10 crops, dense multi-scale), so only errors of the
    same protocol compare.

    Attributes:
        top1: top-1 error, or None where the paper gives none.
        top5: top-5 error, or None.
        protocol: how it was evaluated: "1 crop", "10 crops", "dense, 1 scale", ...
        source: where the figure is ("Table 3"); for a figure not from the paper, who
            published it.
    """

    top1: object
    top5: object
    protocol: str
    source: str


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """Metadata of one registered variant.

    Attributes:
        name: registry name.
        family: the architecture family (module name).
        paper: authors, title and venue.
        year: publication year.
        url: where the paper is.
        default_size: default square input size.
        min_size: smallest square input the builder accepts.
        params: trainable parameters at the default input and number of classes
            (1000 for the ImageNet models; 10 for LeNet-5).
        macs: forward multiply-adds in G at the default input (Conv2D and Dense).
        depth: weight layers (convolutions and dense layers) on the longest path from
            input to output, as the papers count (VGG-16: 16; ResNet-50: 50).
        imagenet_error: the ``PaperError`` its paper reports, or None (no ImageNet result).
        channels: input channels of the default input (3; LeNet-5: 1).
        preprocessing: a ``Preprocessing``.
        deviations: any deliberate difference from the paper, in words ("" if none).
        feature_layers: names of the layers that end each stage, shallow to deep.
        keras_application: the keras.applications constructor that computes the same
            function ("ResNet50"), whose ImageNet weights ``weights="imagenet"`` loads;
            "" if none.
        builder: the function that builds the model.
    """

    name: str
    family: str
    paper: str
    year: int
    url: str
    default_size: int
    min_size: int
    params: int
    macs: float
    depth: int
    imagenet_error: object
    channels: int
    preprocessing: Preprocessing
    deviations: str
    feature_layers: tuple
    keras_application: str
    builder: Callable = dataclasses.field(repr=False, compare=False)

    @property
    def recipe(self):
        """The training recipe of the model's paper (``keras_cnns.training.recipes``)."""
        from keras_cnns.training.recipes import recipe

        return recipe(self.name)


_REGISTRY = {}


def _with_weights(name, builder, keras_application):
    """``builder``, also accepting weights="torchvision" (``keras_cnns.torchvision``) and,
    for a variant with a keras.applications twin, weights="imagenet" and keras.applications
    weight files (``keras_cnns.pretrained``)."""

    @functools.wraps(builder)
    def build(**kwargs):
        from keras_cnns import pretrained

        weights = kwargs.get("weights")
        if isinstance(weights, str) and weights == "torchvision":
            from keras_cnns import torchvision

            return torchvision.build_pretrained(name, builder, kwargs)
        if keras_application and pretrained.is_keras_applications_weights(weights):
            return pretrained.build_pretrained(name, builder, kwargs)
        return builder(**kwargs)

    return build


def register_model(
    *,
    paper,
    year,
    url,
    default_size,
    min_size,
    params,
    macs,
    depth,
    imagenet_error=None,
    channels=3,
    preprocessing=IMAGENET_RGB,
    deviations="",
    feature_layers=(),
    keras_application="",
):
    """Decorator registering a builder under its function name with its metadata.

    The registered function is the builder, which also accepts ``weights="torchvision"``
    for the variants torchvision has weights for (``keras_cnns.torchvision``) and, for a
    variant with a ``keras_application``, ``weights="imagenet"`` and keras.applications
    weight files (``keras_cnns.pretrained``).
    """

    def decorator(builder):
        name = builder.__name__
        if name in _REGISTRY:
            raise ValueError(f"A model named {name!r} is already registered. Received: name={name!r}")
        builder = _with_weights(name, builder, keras_application)
        _REGISTRY[name] = ModelInfo(
            name=name,
            family=builder.__module__.rsplit(".", 1)[-1],
            paper=paper,
            year=year,
            url=url,
            default_size=default_size,
            min_size=min_size,
            params=params,
            macs=macs,
            depth=depth,
            imagenet_error=imagenet_error,
            channels=channels,
            preprocessing=preprocessing,
            deviations=deviations,
            feature_layers=tuple(feature_layers),
            keras_application=keras_application,
            builder=builder,
        )
        return builder

    return decorator


def _natural_key(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_models(pattern=None, *, pretrained=False):
    """Registry names in natural order (resnet18 before resnet101), optionally filtered
    by an fnmatch ``pattern`` such as ``"resnet*"``; with ``pretrained=True`` (or
    ``"imagenet"``), only the variants that load ``weights="imagenet"`` (keras.applications'
    weights); with ``pretrained="torchvision"``, those that load ``weights="torchvision"``.

    >>> import keras_cnns
    >>> keras_cnns.list_models("resnet*", pretrained=True)
    ['resnet50', 'resnet101', 'resnet152']
    >>> keras_cnns.list_models("resnet*", pretrained="torchvision")
    ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152']
    """
    names = sorted(_REGISTRY, key=_natural_key)
    if pretrained not in (False, True, "imagenet", "torchvision"):
        raise ValueError(
            f"Expected `pretrained` to be False, True, 'imagenet' or 'torchvision'. Received: pretrained={pretrained!r}"
        )
    if pretrained == "torchvision":
        from keras_cnns.torchvision import BY_VARIANT

        names = [n for n in names if n in BY_VARIANT]
    elif pretrained:
        names = [n for n in names if _REGISTRY[n].keras_application]
    if pattern is None:
        return names
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def model_info(name):
    """The ``ModelInfo`` of a registered variant; unknown names raise ValueError."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown model name.{hint} Available models: keras_cnns.list_models(). "
            f"Received: name={name!r}"
        )
    return _REGISTRY[name]


def create_model(name, /, **kwargs):
    """Builds the registered model ``name``; kwargs (``name=`` too) go to its builder.

    Examples:

    >>> import keras_cnns
    >>> model = keras_cnns.create_model("resnet18", num_classes=10, input_shape=(64, 64, 3))
    >>> model.output_shape
    (None, 10)
    """
    return model_info(name).builder(**kwargs)
