"""The model registry: every architecture variant, its builder and its metadata.

train.py, tuning/, the docs and the tests all read this one registry. A family module
registers each variant with ``register_model``, declaring next to it everything about
it: its paper's numbers, the weights it loads (``keras_cnns.weights`` descriptors), its
training recipe and its search space (``keras_cnns.models.spec``).
"""

import dataclasses
import difflib
import fnmatch
import functools
import inspect
import os
import re
from typing import Callable

from keras_cnns.models._builder import COMMON_ARGUMENTS
from keras_cnns.models.spec import Recipe, Space
from keras_cnns.weights import IMAGENET_RGB, Preprocessing, SavedWeights, Weights

#: The tag of "the best ImageNet weights this exact architecture has": the descriptor
#: of that tag where a variant declares one (keras.applications'), else its first.
IMAGENET = "imagenet"


@dataclasses.dataclass(frozen=True)
class PaperError:
    """The error a model's paper reports, in %.

    ILSVRC-2012 validation for ``dataset="ImageNet"`` (unless ``protocol`` says
    otherwise), the test set for CIFAR. Papers evaluate in different ways (one center
    crop, 10 crops, dense multi-scale), so only errors of the same dataset and protocol
    compare.

    Attributes:
        top1: top-1 error, or None where the paper gives none.
        top5: top-5 error, or None.
        protocol: how it was evaluated: "1 crop", "10 crops", "dense, 1 scale", ...
        source: where the figure is ("Table 3"); for a figure not from the paper, who
            published it.
        dataset: "ImageNet" (the default), "CIFAR-10", ...
    """

    top1: object
    top5: object
    protocol: str
    source: str
    dataset: str = "ImageNet"


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
        paper_error: the ``PaperError`` its paper reports (on ImageNet, or on CIFAR-10
            for the CIFAR networks), or None.
        channels: input channels of the default input (3; LeNet-5: 1).
        preprocessing: the ``Preprocessing`` of a model trained from scratch (train.py's
            default; scale-free: ImageNet mean and std on RGB in [0, 1] for the
            3-channel models). Weights carry their own (``weights``).
        deviations: any deliberate difference from the paper, in words ("" if none).
        feature_layers: names of the layers that end each stage, shallow to deep.
        weights: the weights descriptors it loads (``keras_cnns.weights.Weights``), in
            the order of preference; ``weights=<tag>`` loads one, and
            ``weights="imagenet"`` the one tagged so or else the first
            (``imagenet_weights``).
        recipe: the paper's training ``Recipe``.
        space: the default search ``Space`` (None: the training knobs only).
        aux_min_size: the smallest square input for its auxiliary classifiers
            (``aux_logits=True``), or None when it has none.
        arguments: the keyword arguments its builder takes.
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
    paper_error: object
    channels: int
    preprocessing: Preprocessing
    deviations: str
    feature_layers: tuple
    weights: tuple
    recipe: Recipe
    space: Space
    aux_min_size: int
    arguments: frozenset = dataclasses.field(repr=False)
    builder: Callable = dataclasses.field(repr=False, compare=False)

    @property
    def imagenet_error(self):
        """``paper_error`` when it is an ImageNet figure, else None."""
        error = self.paper_error
        return error if error is not None and error.dataset == "ImageNet" else None

    @property
    def tags(self):
        """The ``weights=`` tags it takes, in order: ``"imagenet"`` (when it has weights),
        then those its descriptors declare."""
        declared = tuple(w.tag for w in self.weights)
        return declared if not self.weights or IMAGENET in declared else (IMAGENET, *declared)

    @property
    def imagenet_weights(self):
        """The descriptor that ``weights="imagenet"`` loads: the best ImageNet weights of
        this exact architecture (keras.applications' where they exist, tagged
        ``"imagenet"``; else the first declared: BVLC's, timm's, Cadene's ...), or None."""
        return next((w for w in self.weights if w.tag == IMAGENET), self.weights[0] if self.weights else None)

    @property
    def keras_application(self):
        """The keras.applications constructor whose ImageNet weights it loads ("ResNet50"), or ""."""
        return next((w.constructor for w in self.weights if hasattr(w, "constructor")), "")

    def get_weights(self, tag):
        """The weights descriptor of ``tag``; ValueError naming the tags it has, and the
        variants of its family that have ``tag``."""
        for weights in self.weights:
            if weights.tag == tag:
                return weights
        if tag == IMAGENET and self.weights:
            return self.imagenet_weights
        having = ", ".join(self.tags) or "none"
        others = [n for n, info in _REGISTRY.items() if info.family == self.family and tag in info.tags]
        hint = f" Variants of {self.family} with {tag!r} weights: {', '.join(others)}." if others else ""
        raise ValueError(
            f"{self.name} has no {tag!r} weights; its weights: {having} "
            f"(keras_cnns.list_models(pretrained={tag!r}) lists the models that have them).{hint} "
            f"Received: weights={tag!r}"
        )

    def resolve_weights(self, weights):
        """``(descriptor, path)`` for a ``weights=`` value: ``(None, None)`` for None;
        ``(descriptor, None)`` for a declared tag; ``(descriptor, path)`` for a file in the
        format of one of its descriptors (a keras.applications ``.h5``, a torchvision
        ``.pth``); ``(SavedWeights, path)`` for what Keras saved: a run folder of
        train.py, a ``.keras`` or ``.weights.h5`` file (``keras_cnns.weights.saved``);
        ``(None, path)`` for other files. Any other string raises ValueError listing its
        tags."""
        if weights is None:
            return None, None
        if isinstance(weights, str) and weights in self.tags:
            return self.get_weights(weights), None
        if isinstance(weights, (str, os.PathLike)) and SavedWeights.claims(weights):
            return SavedWeights.from_path(weights, self.preprocessing), os.fspath(weights)
        if isinstance(weights, os.PathLike) or (isinstance(weights, str) and _looks_like_a_path(weights)):
            claiming = next((w for w in self.weights if type(w).claims(weights)), None)
            return claiming, (os.fspath(weights) if claiming is not None else weights)
        if isinstance(weights, str):
            self.get_weights(weights)  # raises, listing the tags
        raise ValueError(
            f"Expected `weights` to be None, a tag of {self.name}'s weights ({', '.join(self.tags) or 'none'}) "
            f"or the path of a weights file. Received: weights={weights!r}"
        )


def _looks_like_a_path(text):
    return os.path.exists(text) or os.sep in text or "." in text


_REGISTRY = {}


def _arguments(builder, family_builder):
    """The keyword arguments ``builder`` takes: its own, those of the family builder it
    passes ``**kwargs`` to, and those every builder takes (``COMMON_ARGUMENTS``)."""
    names = set()
    for function in (builder, family_builder):
        if function is None:
            continue
        parameters = inspect.signature(function).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return frozenset(names)
    return frozenset(names | set(COMMON_ARGUMENTS))


def _with_weights(name, builder):
    """``builder``, dispatching ``weights=`` to the variant's descriptors
    (``ModelInfo.resolve_weights``)."""

    @functools.wraps(builder)
    def build(**kwargs):
        info = _REGISTRY[name]
        descriptor, path = info.resolve_weights(kwargs.get("weights"))
        if descriptor is None:
            return builder(**kwargs)
        return descriptor.load(info, builder, kwargs, path=path)

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
    recipe,
    paper_error=None,
    channels=3,
    preprocessing=IMAGENET_RGB,
    deviations="",
    feature_layers=(),
    weights=(),
    space=None,
    aux_min_size=None,
    family_builder=None,
):
    """Decorator registering a builder under its function name with its metadata
    (``ModelInfo``'s fields; ``family_builder`` is the family's generic builder that the
    variant passes ``**kwargs`` to, whose arguments the variant takes too).

    The registered function is the builder, also accepting in ``weights`` the tags of
    the declared weights descriptors and files in their formats.
    """

    def decorator(builder):
        name = builder.__name__
        if name in _REGISTRY:
            raise ValueError(f"A model named {name!r} is already registered. Received: name={name!r}")
        if not isinstance(recipe, Recipe):
            raise ValueError(f"Expected `recipe` to be a Recipe. Received: recipe={recipe!r} for {name}")
        tags = [w.tag for w in weights]
        if not all(isinstance(w, Weights) for w in weights) or len(set(tags)) != len(tags):
            raise ValueError(f"Expected `weights` to be Weights descriptors with distinct tags. Received: {tags} for {name}")
        build = _with_weights(name, builder)
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
            paper_error=paper_error,
            channels=channels,
            preprocessing=preprocessing,
            deviations=deviations,
            feature_layers=tuple(feature_layers),
            weights=tuple(weights),
            recipe=recipe,
            space=space,
            aux_min_size=aux_min_size,
            arguments=_arguments(builder, family_builder),
            builder=build,
        )
        return build

    return decorator


def _natural_key(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def weight_tags():
    """Every ``weights=`` tag some registered variant declares, sorted."""
    return sorted({tag for info in _REGISTRY.values() for tag in info.tags})


def list_models(pattern=None, *, pretrained=False):
    """Registry names in natural order (resnet18 before resnet101), optionally filtered
    by an fnmatch ``pattern`` such as ``"resnet*"``; with ``pretrained=<tag>``, only the
    variants that take weights of that tag (``True`` is ``"imagenet"``: every variant
    with ImageNet weights).

    >>> import keras_cnns
    >>> keras_cnns.list_models("resnet*", pretrained=True)
    ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152']
    >>> keras_cnns.list_models("vgg1*", pretrained="torchvision")
    ['vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn']
    """
    names = sorted(_REGISTRY, key=_natural_key)
    tag = IMAGENET if pretrained is True else pretrained
    if tag is not False and tag not in weight_tags():
        raise ValueError(
            f"Expected `pretrained` to be False, True or a weights tag ({', '.join(map(repr, weight_tags()))}). "
            f"Received: pretrained={pretrained!r}"
        )
    if tag:
        names = [n for n in names if tag in _REGISTRY[n].tags]
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
