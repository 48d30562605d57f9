"""The keras.applications format: its released ``.h5`` files and its models.

A variant whose layers compute exactly what a keras.applications model computes
declares ``KerasApplicationsWeights``: the constructor, the weight files under
``STORE`` with keras.applications' own MD5s, the rules from keras.applications layer
names to our layer paths, and a ``recognize`` function that tells its models apart
(``recognizer`` builds one from layer names). ``weights="imagenet"`` then

1. finds the file for the options asked for in Keras' cache (``$KERAS_HOME/models``,
   by default ``~/.keras/models``), checking its MD5, or downloads it there
   (``keras_cnns.weights.fetch``);
2. builds our model, loads the file into the keras.applications model of the same
   options, and copies the weights over (``transfer_weights``): the same function,
   exactly.

Where conventions differ the copy is exact, not approximate:

- a convolution bias before a batch norm (which ours leave out) folds into the batch
  norm's moving mean: ``BN(conv(x) + b) == BN'(conv(x))`` with ``mean' = mean - b``;
- a batch norm without a scale gets scale 1;
- differing batch-norm epsilons move into the moving variance, so ``variance +
  epsilon`` is unchanged;
- a 1x1 convolution classifier on the pooled features becomes a Dense layer;
- keras.applications' unnamed ``conv2d_bn`` units pair up with ours in creation order.
"""

import dataclasses
import os
import re
import warnings
from typing import Callable, Mapping

import keras
import numpy as np

from keras_cnns.weights.base import (
    WEIGHTED,
    Weights,
    channels_last_shape,
    image_data_format,
    requested_format,
    requested_shape,
    weighted_layers,
)
from keras_cnns.weights.fetch import KERAS_CACHE, fetch, keras_cache_dir

STORE = "https://storage.googleapis.com/tensorflow/keras-applications/"
#: keras.applications' own conv2d_bn() layers, named by Keras' counter.
_AUTO = re.compile(r"(conv2d|batch_normalization)(_\d+)?")
#: Terms of keras.applications' weight files: its documentation states none of its own;
#: they are the original authors' ImageNet models, whose terms (and ImageNet's terms of
#: access) apply.
LICENSE = "not stated (ImageNet's terms apply)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class KerasApplicationsWeights(Weights):
    """keras.applications' ImageNet weights for a variant that computes its function.

    Attributes:
        constructor: the name of the keras.applications constructor.
        files: the weight files under ``STORE``, with and without the classifier; they
            may hold ``{alpha}`` and ``{size}``.
        md5: the MD5s of ``files`` (keras.applications' own), or None where it
            publishes none.
        alphas: width multipliers with published files, each with its token in the file
            name; empty for a fixed width. When given, the builder's ``alpha`` picks the file.
        sizes: input sizes with a file of their own; others load those trained at 224.
        rules: ``(keras.applications layer name regex, our layer path template)`` pairs
            (``re.sub`` templates); layers of neither a rule nor the unnamed
            ``conv2d_bn`` kind cannot be mapped.
        recognize: a function of a keras.applications model returning the builder
            options of our variant when the model is this constructor's, else None.
    """

    constructor: str
    files: tuple
    md5: tuple = None
    alphas: Mapping = dataclasses.field(default_factory=dict)
    sizes: tuple = ()
    rules: tuple = ()
    recognize: Callable = dataclasses.field(default=None, repr=False, compare=False)
    tag: str = "imagenet"
    license: str = LICENSE

    FORMAT = "keras.applications"

    @property
    def label(self):
        return f"keras.applications.{self.constructor}"

    @classmethod
    def claims(cls, path):
        """keras.applications' legacy HDF5 files; Keras 3's ``.weights.h5`` are not theirs."""
        path = os.fspath(path)
        return path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5")

    def file(self, include_top=True, alpha=1.0, input_shape=(224, 224, 3)):
        """``(file name, URL, checksum or None)`` of the file for these options.

        >>> w = KerasApplicationsWeights(constructor="X", preprocessing=None, files=("x/{alpha}_{size}.h5", "x/{alpha}_{size}_no_top.h5"),
        ...                              alphas={0.5: "5_0", 1.0: "1_0"}, sizes=(128, 224))
        >>> w.file(False, 0.5, (128, 128, 3))[:2]
        ('5_0_128_no_top.h5', 'https://storage.googleapis.com/tensorflow/keras-applications/x/5_0_128_no_top.h5')
        """
        index = 0 if include_top else 1
        values = {}
        if self.alphas:
            if alpha not in self.alphas:
                raise ValueError(
                    f"keras.applications publishes ImageNet weights of {self.constructor} for alpha in "
                    f"{sorted(self.alphas)}. Received: alpha={alpha}"
                )
            values["alpha"] = self.alphas[alpha]
        if self.sizes:
            size = input_shape[0] if input_shape else None
            if size is None or input_shape[1] != size or size not in self.sizes:
                warnings.warn(
                    f"{self.constructor} ImageNet weights exist for square inputs of {self.sizes}; "
                    f"loading those trained at 224x224. Received: input_shape={input_shape}",
                    stacklevel=5,
                )
                size = 224
            values["size"] = size
        path = self.files[index].format(**values)
        checksum = f"md5:{self.md5[index]}" if self.md5 else None
        return os.path.basename(path), STORE + path, checksum

    def _constructor_options(self, kwargs, input_shape=None):
        include_top = kwargs.get("include_top", True)
        options = dict(include_top=include_top, classes=kwargs.get("num_classes", 1000) if include_top else 1000)
        if self.alphas:
            options["alpha"] = kwargs.get("alpha", 1.0)
        if input_shape is not None:
            options["input_shape"] = input_shape
        return options

    def check_request(self, info, kwargs):
        super().check_request(info, kwargs)
        if self.alphas and kwargs.get("alpha", 1.0) not in self.alphas:
            self.file(alpha=kwargs.get("alpha", 1.0))  # raises, naming the published widths

    def fetch(self, info, kwargs):
        options = self._constructor_options(kwargs)
        shape = requested_shape(kwargs, info.default_size)
        fname, url, checksum = self.file(options["include_top"], options.get("alpha", 1.0), shape)
        return fetch(
            url, keras_cache_dir(), file=fname, checksum=checksum, what="the ImageNet weights",
            cache=f"{KERAS_CACHE}; or pass weights='/path/to/{fname}'",
        )

    def read(self, path, info, kwargs):
        return os.fspath(path)

    def transfer(self, source, model, kwargs):
        # keras.applications' model in channels_last whatever ours is: the weights are the same.
        shape = channels_last_shape(model.input_shape[1:], requested_format(kwargs))
        options = self._constructor_options(kwargs, shape)
        with image_data_format("channels_last"):
            constructor = getattr(keras.applications, self.constructor)
            ka_model = constructor(weights=None, classifier_activation=None, **options)
        try:
            ka_model.load_weights(source)
        except Exception as e:  # h5py and Keras raise several kinds
            raise ValueError(
                f"Cannot load {source} into keras.applications.{self.constructor}"
                f"(include_top={options['include_top']}, input_shape={options['input_shape']}): {e}"
            ) from e
        transfer_weights(ka_model, model, self.rules)


# --- Recognizing keras.applications models ---------------------------------------------


def stage_blocks(names, pattern):
    """Blocks per stage from layer names: ``pattern`` has two groups, the stage and the
    block number (``r"conv(\\d)_block(\\d+)_out"``); the highest block number of each stage,
    stages in order.

    >>> stage_blocks({"conv2_block1_out", "conv2_block2_out", "conv3_block1_out"}, r"conv(\\d)_block(\\d+)_out")
    (2, 1)
    """
    found = {}
    for name in names:
        match = re.fullmatch(pattern, name)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            found[stage] = max(found.get(stage, 0), block)
    return tuple(found[stage] for stage in sorted(found))


def recognizer(*, required=(), absent=(), count=None, blocks=None):
    """A ``recognize`` function from layer names, so that renamed models are recognized.

    Args:
        required: layer names the model must have.
        absent: layer names it must not have.
        count: ``(regex, n)``: exactly ``n`` layer names match.
        blocks: ``(regex, counts)``: ``stage_blocks`` of the names is ``counts``.
    """

    def recognize(ka_model):
        names = {layer.name for layer in ka_model.layers}
        if not set(required) <= names or set(absent) & names:
            return None
        if count is not None and sum(bool(re.fullmatch(count[0], n)) for n in names) != count[1]:
            return None
        if blocks is not None and stage_blocks(names, blocks[0]) != tuple(blocks[1]):
            return None
        return {}

    return recognize


def identify(ka_model, candidates):
    """The ``(variant name, descriptor, builder options)`` among ``candidates``, pairs of
    a variant name and its ``KerasApplicationsWeights``, whose ``recognize`` takes
    ``ka_model``; ValueError when none does."""
    found = [(name, w, options) for name, w in candidates if (options := w.recognize(ka_model)) is not None]
    if len(found) != 1:
        supported = ", ".join(dict.fromkeys(w.constructor for _, w in candidates))
        what = "no equivalent" if not found else f"several equivalents ({', '.join(n for n, _, _ in found)})"
        raise ValueError(
            f"keras_cnns has {what} of this model. Supported keras.applications models: {supported}. "
            f"Received: model {ka_model.name!r}"
        )
    return found[0]


def _activation_name(layer):
    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", name)
    return None if name == "linear" else name


def head_options(ka_model):
    """include_top, pooling, num_classes, classifier_activation of a keras.applications model."""
    names = {layer.name for layer in ka_model.layers}
    if "predictions" in names:
        predictions = ka_model.get_layer("predictions")
        return dict(
            include_top=True,
            num_classes=int(ka_model.output_shape[-1]),
            classifier_activation=_activation_name(predictions),
        )
    last = ka_model.layers[-1]
    pooling = {keras.layers.GlobalAveragePooling2D: "avg", keras.layers.GlobalMaxPooling2D: "max"}.get(type(last))
    return dict(include_top=False, pooling=pooling)


# --- Copying the weights ---------------------------------------------------------------


def _rename(layer_name, rules):
    for pattern, target in rules:
        if re.fullmatch(pattern, layer_name):
            return re.sub(pattern, target, layer_name)
    return None


def _creation_index(layer):
    """0 for ``conv2d``, N for ``conv2d_N``: Keras numbers unnamed layers as it creates them."""
    return int(layer.name.rpartition("_")[2]) if layer.name != "conv2d" else 0


def _pairs(ka_model, order, rules):
    """``(keras.applications layer, our layer path)`` for every layer holding weights;
    ``order`` lists our layer paths in weight-creation order."""
    pairs, auto = [], []
    for layer in ka_model.layers:
        if not layer.weights:
            continue
        if not isinstance(layer, WEIGHTED):
            raise ValueError(
                f"Cannot map keras.applications layer {layer.name!r}: a {type(layer).__name__} "
                "has no keras_cnns counterpart."
            )
        target = _rename(layer.name, rules)
        if target is not None:
            pairs.append((layer, target))
        elif _AUTO.fullmatch(layer.name):
            auto.append(layer)
        else:
            raise ValueError(f"Cannot map keras.applications layer {layer.name!r} to a keras_cnns layer.")
    if not auto:
        return pairs
    # Unnamed conv2d_bn() units: keras.applications' creation order (the auto-name
    # counter) is our blocks' order; each convolution's batch norm follows it.
    norms = {id(layer.input): layer for layer in auto if isinstance(layer, keras.layers.BatchNormalization)}
    convs = sorted((c for c in auto if isinstance(c, keras.layers.Conv2D)), key=_creation_index)
    named = {target for _, target in pairs}
    units = [path[: -len("/conv")] for path in order if path.endswith("/conv") and path not in named]
    if len(units) != len(convs):
        raise ValueError(
            f"keras.applications model {ka_model.name!r} has {len(convs)} unnamed convolutions, "
            f"the keras_cnns model {len(units)} convolution units to receive them."
        )
    for conv, unit in zip(convs, units):
        pairs.append((conv, f"{unit}/conv"))
        norm = norms.pop(id(conv.output), None)
        if norm is not None:
            pairs.append((norm, f"{unit}/bn"))
    if norms:
        raise ValueError(f"Cannot map keras.applications layer {next(iter(norms.values())).name!r}.")
    return pairs


def _value(variable):
    return keras.ops.convert_to_numpy(variable).astype("float32")


def _copy_kernel(source, target, path):
    kernel = _value(source.kernel)
    shape = tuple(target.kernel.shape)
    one_by_one = isinstance(source, keras.layers.Conv2D) and kernel.shape[:2] == (1, 1)
    if kernel.shape != shape and not (isinstance(target, keras.layers.Dense) and one_by_one and kernel.size == np.prod(shape)):
        raise ValueError(
            f"Shape mismatch: keras.applications layer {source.name!r} has a kernel of shape "
            f"{kernel.shape}, keras_cnns layer {path!r} one of shape {shape}."
        )
    target.kernel.assign(kernel.reshape(shape))


def _copy_norm(source, target, path, bias):
    channels = source.moving_mean.shape[0]
    gamma = _value(source.gamma) if source.scale else np.ones(channels, "float32")
    beta = _value(source.beta) if source.center else np.zeros(channels, "float32")
    if tuple(target.moving_mean.shape) != (channels,):
        raise ValueError(
            f"Shape mismatch: keras.applications layer {source.name!r} normalizes {channels} "
            f"channels, keras_cnns layer {path!r} {target.moving_mean.shape[0]}."
        )
    if target.scale:
        target.gamma.assign(gamma)
    elif not np.all(gamma == 1):
        raise ValueError(f"keras_cnns layer {path!r} has no batch-norm scale for {source.name!r}'s gamma.")
    target.beta.assign(beta)
    target.moving_mean.assign(_value(source.moving_mean) - bias)
    # Same variance + epsilon, so the same normalization.
    target.moving_variance.assign(_value(source.moving_variance) + (source.epsilon - target.epsilon))


def transfer_weights(ka_model, model, rules):
    """Copies a keras.applications model's weights into the equivalent keras_cnns model.

    Both models must have the same architecture and classifier; the input sizes may
    differ where no layer's weights depend on them. Every keras_cnns layer that holds
    weights receives them exactly once; the whole mapping is checked before anything
    is copied, and a layer that does not fit is named.

    Args:
        ka_model: the keras.applications model (the source).
        model: the keras_cnns model (the target), built with the same options.
        rules: the layer-name rules of the variant's ``KerasApplicationsWeights``.
    """
    ours = weighted_layers(model)
    order = list(dict.fromkeys(w.path.rpartition("/")[0] for w in model.weights))
    pairs = _pairs(ka_model, order, rules)
    done = set()
    for source, path in pairs:
        target = ours.get(path)
        fits = isinstance(target, type(source)) or (
            isinstance(source, keras.layers.Conv2D) and isinstance(target, keras.layers.Dense)
        )
        if not fits:
            raise ValueError(
                f"Cannot map keras.applications layer {source.name!r}: the keras_cnns model has no "
                f"{type(source).__name__} at {path!r}."
            )
        if path in done:
            raise ValueError(f"keras_cnns layer {path!r} would receive the weights of two layers, the second {source.name!r}.")
        done.add(path)
    missing = sorted(set(ours) - done)
    if missing:
        raise ValueError(
            f"keras_cnns layer {missing[0]!r} receives no weights from keras.applications model "
            f"{ka_model.name!r} ({len(missing)} such layers)."
        )
    norms = {id(layer.input): layer for layer, _ in pairs if isinstance(layer, keras.layers.BatchNormalization)}
    biases = {}  # keras.applications conv biases that fold into the batch norm after them
    for source, path in pairs:
        if isinstance(source, keras.layers.BatchNormalization):
            continue
        target = ours[path]
        _copy_kernel(source, target, path)
        if getattr(target, "use_bias", False):
            target.bias.assign(_value(source.bias) if source.use_bias else np.zeros(target.bias.shape, "float32"))
        elif getattr(source, "use_bias", False):
            norm = norms.get(id(source.output))
            if norm is None:
                raise ValueError(
                    f"Cannot fold the bias of keras.applications layer {source.name!r}: no batch "
                    f"norm follows it, and keras_cnns layer {path!r} has no bias."
                )
            biases[id(norm)] = _value(source.bias)
    for source, path in pairs:
        if isinstance(source, keras.layers.BatchNormalization):
            _copy_norm(source, ours[path], path, biases.get(id(source), 0.0))


def convert(ka_model, candidates, create):
    """The keras_cnns model equivalent to ``ka_model``, with its weights.

    Args:
        ka_model: a model built by a keras.applications constructor, with any weights.
        candidates: ``(variant name, KerasApplicationsWeights)`` pairs to recognize it among.
        create: ``create(name, **builder_options)`` builds a variant.
    """
    if not isinstance(ka_model, keras.Model):
        raise ValueError(f"Expected a keras.applications model. Received: ka_model={ka_model!r}")
    name, weights, options = identify(ka_model, candidates)
    data_format = next((layer.data_format for layer in ka_model.layers if getattr(layer, "data_format", None)),
                       keras.config.image_data_format())
    model = create(name, input_shape=tuple(ka_model.input_shape[1:]), data_format=data_format,
                   **head_options(ka_model), **options)
    transfer_weights(ka_model, model, weights.rules)
    return model
