"""The weights descriptor: what a family declares for each set of weights a variant loads.

A family module lists, next to each variant, the weights it can load as descriptors of
a format (``KerasApplicationsWeights``, ``TorchvisionWeights``, ...), each with its tag
(``weights="imagenet"``), file, checksum, the builder options its layout needs, its
preprocessing, classes, reported accuracy and license. The registry hands
``create_model(name, weights=tag)`` to the descriptor, whose format's engine fetches the
file, builds the model and copies the weights. Engines know formats, never families:
whatever is particular to a family (layer-name rules, how to recognize its models) is a
field of its descriptors.
"""

import contextlib
import dataclasses
import os
from typing import Mapping

import keras

from keras_cnns.weights.preprocessing import Preprocessing

#: The layer types that hold weights in the models a weight transfer fills.
WEIGHTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense, keras.layers.BatchNormalization)
#: The path of a model's classifier (keras.applications' name for its last layer).
PREDICTIONS = "predictions"
#: The top-level layers that ``include_top=False`` leaves out: the pooling / hidden part
#: of the classifier and its predictions.
HEAD_LAYERS = ("head", PREDICTIONS)


def in_head(path):
    """Whether a layer path lies in the classifier (``HEAD_LAYERS``)."""
    return path.split("/")[0] in HEAD_LAYERS


def channels_last_shape(shape, data_format):
    """A 3-D shape without the batch axis, in ``data_format``, as (height, width,
    channels): the order of a model's weights, which both formats share."""
    shape = tuple(shape)
    return shape if data_format == "channels_last" else (*shape[1:], shape[0])


@contextlib.contextmanager
def image_data_format(data_format):
    """Sets ``keras.config.image_data_format()`` for the ``with`` body: the Keras layers
    and models built there without a ``data_format`` (blocks too, whose default it is)
    take this one."""
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        yield
    finally:
        keras.config.set_image_data_format(previous)


def saved_before_predictions(path):
    """Where models that keras_cnns saved before its ``predictions`` layer (2026-12) keep
    the weight at ``path``: the predictions were then inside the head
    (``head/predictions/kernel``); None for any other weight."""
    return "head/" + path if path.startswith(PREDICTIONS + "/") else None


def weighted_layers(model):
    """``{layer path: layer}`` of every layer of ``model`` that holds weights, nested ones
    included (``"conv2_block1/conv1/conv"``): what a weight transfer must fill."""
    return {layer.path: layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, WEIGHTED)}


def weight_leaves(layer):
    """The layers inside ``layer`` (itself included) that hold weights of their own, in
    creation order."""
    return [l for l in layer._flatten_layers(include_self=True) if l.weights and not l._flatten_layers(include_self=False)]


def classifier_layer(model):
    """The classifier of ``model``: the last layer holding weights on the way from its main
    (first) output back to the input (a Dense ``predictions``, or a 1x1 convolution to the
    classes). Auxiliary classifiers are not on that path."""
    tensor = model.outputs[0]
    while getattr(tensor, "_keras_history", None) is not None:
        history = tensor._keras_history
        layer = history.operation
        leaves = weight_leaves(layer) if isinstance(layer, keras.layers.Layer) else []
        if leaves:
            return leaves[-1]
        inputs = layer._inbound_nodes[history.node_index].input_tensors
        if not inputs:
            break
        tensor = inputs[0]
    raise ValueError(f"{model.name} has no layer holding weights before its output. Received: model={model.name!r}")


def _built_input_shape(layer):
    """The input shape ``layer`` was built with (a block builds its children with theirs)."""
    shapes = getattr(layer, "_build_shapes_dict", None)
    if not shapes:
        raise ValueError(f"Expected a built layer. Received: layer={layer.path!r}, unbuilt")
    return tuple(next(iter(shapes.values())))


def flattened_maps(model):
    """``{path of a Dense layer: (H, W, C)}`` for each Dense layer that sees a flattened
    feature map: the first Dense layer created after a ``Flatten`` of a feature map in
    the same block (a classifier head, an auxiliary classifier) or in the model."""
    found = {}
    for block in model._flatten_layers(include_self=True):
        children = list(block._flatten_layers(include_self=False, recursive=False))
        for i, flatten in enumerate(children):
            if not isinstance(flatten, keras.layers.Flatten):
                continue
            shape = _built_input_shape(flatten)
            dense = next((c for c in children[i + 1 :] if isinstance(c, keras.layers.Dense)), None)
            if dense is not None and len(shape) == 4:
                # Flatten flattens in channels_last order in both formats.
                found[dense.path] = channels_last_shape(shape[1:], flatten.data_format)
    return found


def reset_classifier(model):
    """Draws the classifier's weights (``classifier_layer``) afresh from its layer's own
    initializers (``kernel_initializer``, ``bias_initializer``): a classifier of the
    right size for classes other than the weights'."""
    layer = classifier_layer(model)
    for variable in layer.weights:
        initializer = keras.initializers.get(getattr(layer, f"{variable.name}_initializer"))
        variable.assign(initializer(tuple(variable.shape), variable.dtype))
    return layer


def main_weights(model):
    """The paths of the weights that the main (first) output depends on: every weight but
    those of auxiliary classifiers."""
    if len(model.outputs) == 1:
        return {v.path for v in model.weights}
    return {v.path for v in keras.Model(model.inputs, model.outputs[0]).weights}


def copy_weights(source, target, what="the weights"):
    """Copies the weights of the Keras model ``source`` into ``target``, layer path by path.

    The classifier of ``target`` (``classifier_layer``) keeps its fresh initialization
    when its shape differs from the source's (another number of classes), and so do
    auxiliary classifiers the source does not have. Any other weight of ``target`` that
    the source lacks, or has with another shape, raises ValueError naming it, before
    anything is assigned.

    Returns:
        The paths of the weights left initialized (empty when every weight was copied).
    """
    found = {v.path: v for v in source.weights}
    main = main_weights(target)
    classifier = {v.path for v in classifier_layer(target).weights}
    pairs, fresh = [], []
    for variable in target.weights:
        other = found.get(variable.path, found.get(saved_before_predictions(variable.path)))
        if other is None and variable.path not in main:
            fresh.append(variable.path)  # an auxiliary classifier
        elif other is None:
            raise ValueError(
                f"{what} have no {variable.path}: they are not a {target.name} of this layout. "
                f"Received: {source.name} weights for {target.name}"
            )
        elif tuple(other.shape) == tuple(variable.shape):
            pairs.append((variable, other))
        elif variable.path in classifier:
            fresh.append(variable.path)  # another number of classes
        else:
            raise ValueError(
                f"{what} do not fit {target.name}: {variable.path} has shape {tuple(variable.shape)} here "
                f"and {tuple(other.shape)} there. Received: {source.name} weights for {target.name}"
            )
    for variable, other in pairs:
        variable.assign(other.numpy())
    return fresh


def requested_format(kwargs):
    """The data format a builder will use for ``kwargs``: its ``data_format``, else
    ``keras.config.image_data_format()``."""
    return kwargs.get("data_format") or keras.config.image_data_format()


def requested_shape(kwargs, default_size, channels=3):
    """The input shape a builder will use for ``kwargs``, known before building, as
    (height, width, channels) in either data format (the weights are the same in both)."""
    if kwargs.get("input_tensor") is not None:
        shape = tuple(kwargs["input_tensor"].shape[1:])
    elif kwargs.get("input_shape") is not None:
        shape = tuple(kwargs["input_shape"])
    else:
        size = default_size if kwargs.get("include_top", True) else None
        return (size, size, channels)
    return channels_last_shape(shape, requested_format(kwargs)) if len(shape) == 3 else shape


@dataclasses.dataclass(frozen=True, kw_only=True)
class Weights:
    """One set of weights a registered variant loads (``create_model(name, weights=tag)``).

    Subclasses are the formats; each implements ``fetch`` (the file, found before
    anything is built) and ``transfer`` (the copy into the built model).

    Attributes:
        tag: the value of ``weights=`` that loads them ("imagenet", "torchvision").
        preprocessing: the ``Preprocessing`` the weights were trained with.
        num_classes: the classes of their classifier.
        top1: the ImageNet top-1 accuracy (%) their source reports, or None.
        top1_source: where that figure is published.
        license: the terms their source publishes them under, in a few words
            ("unrestricted", "apache-2.0", "non-commercial", "not stated (...)").
        options: builder options their layout needs; a call asking for another value
            raises (``{"stride_in_3x3": True}``).
        defaults: builder options set unless the call gives another value (options
            that do not change the weights' shapes, such as an adaptive pooling).
        top_size: with ``include_top=True``, the square input size the classifier's
            weights need (a head that flattens a map of fixed size), or None for any.
        top_size_free_with: a builder option that lifts ``top_size`` when it is set
            (an adaptive pooling before the flattening), or None.
    """

    tag: str
    preprocessing: Preprocessing
    num_classes: int = 1000
    top1: float = None
    top1_source: str = ""
    license: str = ""
    options: Mapping = dataclasses.field(default_factory=dict)
    defaults: Mapping = dataclasses.field(default_factory=dict)
    top_size: int = None
    top_size_free_with: str = None

    #: The format's name, for messages and listings.
    FORMAT = ""

    @property
    def label(self):
        """Where the weights come from, in a few words: the format and the source model."""
        return self.FORMAT

    @classmethod
    def claims(cls, path):
        """Whether this format reads the weight file at ``path`` (by its name)."""
        return False

    def builder_options(self, name, kwargs):
        """``kwargs`` with the weights' ``defaults`` and ``options``; an option that
        contradicts the weights raises ValueError."""
        for key, value in kwargs.items():
            if key in self.options and value != self.options[key]:
                raise ValueError(
                    f"The {self.label} weights are for {name} with {key}={self.options[key]!r}. "
                    f"Received: {key}={value!r}"
                )
        return {**self.defaults, **kwargs, **self.options}

    def check_request(self, info, kwargs):
        """Raises ValueError, before any file is read, for a request these weights cannot
        serve: another number of classes with the classifier, other input channels, an
        input size the classifier's weights do not fit. ``kwargs`` are builder options
        after ``builder_options``. Another number of classes is served: the classifier
        is then freshly initialized (``load``)."""
        include_top = kwargs.get("include_top", True)
        shape = requested_shape(kwargs, info.default_size, self.preprocessing.channels)
        if len(shape) != 3 or shape[-1] != self.preprocessing.channels:
            raise ValueError(
                f"The {self.label} weights of {info.name} are for inputs of {self.preprocessing.channels} "
                f"channels. Received: input_shape={shape}"
            )
        free = self.top_size_free_with is not None and kwargs.get(self.top_size_free_with) is not None
        if include_top and self.top_size and not free and tuple(shape[:2]) != (self.top_size, self.top_size):
            hint = f", or keep {self.top_size_free_with}" if self.top_size_free_with else ""
            raise ValueError(
                f"With include_top=True, the {self.label} weights of {info.name} need input_shape "
                f"({self.top_size}, {self.top_size}, {shape[-1]}) (its classifier flattens the last feature "
                f"map); use include_top=False for other sizes{hint}. Received: input_shape={shape}"
            )

    def fetch(self, info, kwargs):
        """The weights' source for this request (a file path, a state dict ...), found
        before anything is built. Raises OSError when it cannot be had."""
        raise NotImplementedError

    def read(self, path, info, kwargs):
        """The weights' source from a local file of this format."""
        raise NotImplementedError

    def transfer(self, source, model, kwargs):
        """Copies the weights of ``source`` into the built ``model``."""
        raise NotImplementedError

    def source_classes(self, source):
        """The number of classes of the classifier in ``source`` (what ``read`` gave), or
        None where the format cannot tell."""
        return None

    def convert(self, name, source, create, **kwargs):
        """Variant ``name`` built with ``create(name, **options)`` and the weights of
        ``source`` (what ``read`` gives, of any number of classes): the builder options
        are ``builder_options``'s, the classes are the source's unless ``num_classes``
        is given, and the model returns logits, as the source's, unless
        ``classifier_activation`` is given. What ``from_caffemodel``, ``from_timm`` ...
        build."""
        kwargs.setdefault("classifier_activation", None)
        options = self.builder_options(name, kwargs)
        if options.get("include_top", True) and "num_classes" not in kwargs:
            found = self.source_classes(source)
            if found is not None:
                options["num_classes"] = found
        model = create(name, **options)
        self.transfer(source, model, options)
        return model

    def load(self, info, builder, kwargs, path=None):
        """Builds variant ``info`` with ``builder(**kwargs)`` and these weights, or those
        of the local file ``path`` in this format. The file is found (or found missing)
        before the model is built.

        With ``include_top=True`` and another ``num_classes`` than the weights', every
        weight but the classifier's is loaded, and the classifier of ``num_classes`` is
        freshly initialized (timm's and keras-hub's semantics): the weights are loaded
        into a model with their own classes, then copied (``copy_weights``)."""
        kwargs = self.builder_options(info.name, {k: v for k, v in kwargs.items() if k != "weights"})
        self.check_request(info, kwargs)
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"No weights file at that path. Received: weights={path!r}")
        source = self.read(path, info, kwargs) if path is not None else self.fetch(info, kwargs)
        classes = kwargs.get("num_classes", self.num_classes)
        if not kwargs.get("include_top", True) or classes == self.num_classes:
            model = builder(**kwargs)
            self.transfer(source, model, kwargs)
            return model
        own = {k: v for k, v in kwargs.items() if k not in ("aux_logits", "name")}
        own["num_classes"] = self.num_classes
        pretrained = builder(**own)
        self.transfer(source, pretrained, own)
        model = builder(**kwargs)
        copy_weights(pretrained, model, f"The {self.label} weights")
        return model


#: A descriptor's rule for one foreign layer or module name: our layer path, None for a
#: name the family does not know, or ``SKIP`` for one that has no counterpart by design.
SKIP = "skip"
