"""PyTorch state dicts: the engine of every format whose weights are a PyTorch model's
state dict (torchvision's, timm's, Cadene's pretrainedmodels).

A format subclasses ``StateDictWeights`` with where its files are and how they are
named; a family declares, per variant, the source's model name, a ``rule`` from the
source's module names (state-dict keys without the parameter) to our layer paths, and
a ``recognize`` function for the source's model objects. This module copies:

- PyTorch's ``(out, in, kh, kw)`` kernels become Keras' ``(kh, kw, in, out)``; the
  Dense layer after a flattening head gets its inputs reordered from channels-first
  ``(C, H, W)`` to channels-last ``(H, W, C)`` flattening;
- a convolution bias in the source where our convolution has none folds into the
  batch norm that follows it in the same block (the conv's one batch-norm sibling,
  as in ``ConvBNAct``): ``BN(conv(x) + b) == BN'(conv(x))`` with ``mean' = mean - b``,
  exactly;
- a source batch norm with a scale of ones fits ours without a scale.

Every keras_cnns layer with weights receives them exactly once and every source
module maps to a layer (or is skipped by its rule), else nothing is copied and the
error names the key or the layer.

Files: ``.safetensors`` are read with safetensors' NumPy API (no torch needed),
``.pth`` / ``.pt`` / ``.bin`` with ``torch.load(weights_only=True)``. torch is an
optional extra (``pip install "keras-cnns[torch]"``), imported only to read a
``.pth`` file; import torch before TensorFlow in one process (with the CUDA builds of
torch, Triton's LLVM crashes a process that already has TensorFlow's).
"""

import dataclasses
import os
import re
from typing import Callable

import keras
import numpy as np

from keras_cnns.weights.base import PREDICTIONS, SKIP, Weights, flattened_maps, in_head, weighted_layers
from keras_cnns.weights.fetch import fetch as fetch_file

INSTALL = 'pip install "keras-cnns[torch]"'
SAFETENSORS = ".safetensors"


def torch_module(what="PyTorch state dicts"):
    """``torch``, or ImportError naming the optional extra that installs it."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"{what} need PyTorch, an optional extra of keras_cnns: {INSTALL} (torch and torchvision). ({e})"
        ) from None
    return torch


def safetensors_numpy():
    """``safetensors.numpy``, or ImportError naming the package."""
    try:
        import safetensors.numpy
    except ImportError as e:
        raise ImportError(
            f'.safetensors files (timm\'s weights) need the safetensors package: pip install "keras-cnns[timm]". ({e})'
        ) from None
    return safetensors.numpy


def load_state_dict(path):
    """A state dict read from a file: ``.safetensors`` as NumPy arrays (no torch needed),
    others with ``torch.load`` safely (``weights_only=True``: no arbitrary objects are
    unpickled).

    Examples:

    >>> import os, tempfile, numpy as np, safetensors.numpy
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> safetensors.numpy.save_file({"fc.weight": np.ones((2, 3), "float32")}, path)
    >>> load_state_dict(path)["fc.weight"].shape
    (2, 3)
    """
    path = os.fspath(path)
    if path.endswith(SAFETENSORS):
        return safetensors_numpy().load_file(path)
    return torch_module().load(path, map_location="cpu", weights_only=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StateDictWeights(Weights):
    """Weights that are the state dict of a PyTorch model of another library.

    Attributes:
        model: the source library's name of the model.
        rule: source module name (state-dict key without the parameter) -> our layer
            path, None for an unknown module, or ``SKIP``.
        recognize: a function of a source model object returning our variant's
            builder options when it is this model (with its structure's own options),
            else None.
    """

    model: str
    rule: Callable = dataclasses.field(default=None, repr=False, compare=False)
    recognize: Callable = dataclasses.field(default=None, repr=False, compare=False)

    #: Whose state dicts these are, for messages ("torchvision's layer1.0.conv1").
    SOURCE = ""

    @property
    def label(self):
        return f"{self.SOURCE} {self.model}"

    def is_model(self, name):
        """Whether ``name`` names this source model (``convert_named``)."""
        return name == self.model

    def read(self, path, info, kwargs):
        return load_state_dict(path)

    def transfer(self, source, model, kwargs):
        transfer_state_dict(source, model, self)

    def source_classes(self, source):
        return classes(source, self)


#: torch's hub cache, as the offline message describes it.
CACHE = "torch's hub cache: $TORCH_HOME/hub/checkpoints, by default ~/.cache/torch/hub/checkpoints"


def checkpoint_dir():
    """torch's hub cache for weight files: ``$TORCH_HOME/hub/checkpoints`` (by default
    ``~/.cache/torch/hub/checkpoints``), as ``torch.hub.get_dir()`` says."""
    return os.path.join(torch_module().hub.get_dir(), "checkpoints")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchHubWeights(StateDictWeights):
    """A ``.pth`` state dict at ``url``, kept in torch's hub cache as ``torch.hub`` keeps
    it (``checkpoint_dir``): a format subclass gives ``url`` and ``file``.

    Per torch.hub's convention, the hex digits after the last ``-`` of the file's name
    are the start of its SHA-256 (``checksum``), which the download checks; like
    torch.hub, a file already in its cache is trusted (it was checked when downloaded).
    """

    @property
    def checksum(self):
        match = re.search(r"-([0-9a-f]{8,})\.", self.file)
        return f"sha256:{match.group(1)}" if match else None

    @classmethod
    def claims(cls, path):
        return os.fspath(path).endswith((".pth", ".pt"))

    def fetch(self, info, kwargs):
        torch_module(f"{self.SOURCE}'s weights")  # the missing extra is named before any download
        path = fetch_file(
            self.url, checkpoint_dir(), checksum=self.checksum, check_cached=False, what=f"{self.SOURCE}'s weights",
            cache=CACHE,
        )
        return load_state_dict(path)


# --- Copies ----------------------------------------------------------------------------


def _numpy(value, shape=None, axes=None):
    """A float32 array of a torch tensor or array, optionally reshaped to ``shape`` and
    transposed by ``axes``, contiguous. Tensors are permuted by torch, whose copies are
    several times faster than NumPy's strided ones (a 100M-weight Dense kernel)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().float()
        if shape is not None:
            value = value.reshape(shape)
        if axes is not None:
            value = value.permute(*axes)
        return value.contiguous().numpy()
    value = np.asarray(value, dtype="float32")
    if shape is not None:
        value = value.reshape(shape)
    return np.ascontiguousarray(value.transpose(axes) if axes is not None else value)


def modules(state_dict):
    """``{module name: {parameter: tensor}}`` of a state dict, batch-norm step counters dropped."""
    grouped = {}
    for key, value in state_dict.items():
        if key.endswith("num_batches_tracked"):
            continue
        prefix, _, param = key.rpartition(".")
        grouped.setdefault(prefix, {})[param] = value
    return grouped


def _check(source, key, array, shape):
    if tuple(array.shape) != tuple(shape):
        raise ValueError(
            f"Shape mismatch: {source}'s {key} has shape {tuple(array.shape)}, the keras_cnns "
            f"weight needs {tuple(shape)}."
        )


def _copy_bias(source, prefix, params, layer):
    has = "bias" in params
    if has != bool(layer.use_bias):
        raise ValueError(
            f"{source}'s {prefix} {'has' if has else 'has no'} bias, keras_cnns layer "
            f"{layer.path!r} {'has' if layer.use_bias else 'has none'}."
        )
    if has:
        bias = _numpy(params["bias"])
        _check(source, f"{prefix}.bias", bias, layer.bias.shape)
        layer.bias.assign(bias)


def _copy_conv(source, prefix, params, layer, fold):
    """Copies a convolution; a source bias our layer lacks is returned (to fold into
    ``fold``, the batch norm after it) instead of copied."""
    kh, kw, inputs, filters = tuple(layer.kernel.shape)
    _check(source, f"{prefix}.weight", params["weight"], (filters, inputs, kh, kw))  # (out, in / groups, kh, kw)
    layer.kernel.assign(_numpy(params["weight"], axes=(2, 3, 1, 0)))
    if "bias" in params and not layer.use_bias and fold is not None:
        bias = _numpy(params["bias"])
        _check(source, f"{prefix}.bias", bias, fold.moving_mean.shape)
        return bias
    _copy_bias(source, prefix, params, layer)
    return None


def _copy_dense(source, prefix, params, layer, feature_map):
    inputs, units = tuple(layer.kernel.shape)
    _check(source, f"{prefix}.weight", params["weight"], (units, inputs))  # (out, in)
    if feature_map is None:
        kernel = _numpy(params["weight"], axes=(1, 0))
    else:
        # PyTorch flattens (C, H, W); Keras flattens (H, W, C).
        h, w, c = feature_map
        kernel = _numpy(params["weight"], shape=(units, c, h * w), axes=(2, 1, 0)).reshape(inputs, units)
    layer.kernel.assign(kernel)
    _copy_bias(source, prefix, params, layer)


def _copy_norm(source, prefix, params, layer):
    """Copies a batch norm; a layer without a scale (or offset) takes a source whose
    scale is ones (offset zeros)."""
    for param, variable, neutral in (("weight", layer.gamma, 1.0), ("bias", layer.beta, 0.0),
                                     ("running_mean", layer.moving_mean, None),
                                     ("running_var", layer.moving_variance, None)):
        if param not in params:
            if variable is None:
                continue
            raise ValueError(f"{source}'s {prefix} has no {param} for keras_cnns layer {layer.path!r}.")
        value = _numpy(params[param])
        if variable is None:
            if not np.all(value == neutral):
                raise ValueError(
                    f"{source}'s {prefix}.{param} is not all {neutral:g}, and keras_cnns layer {layer.path!r} "
                    f"has no {'scale' if param == 'weight' else 'offset'} to hold it."
                )
            continue
        _check(source, f"{prefix}.{param}", value, variable.shape)
        variable.assign(value)


def _following_norm(conv, layers):
    """The batch norm that ``conv`` feeds: in the block that holds ``conv`` and one batch
    norm and no other layer with weights, the batch norm created after it (``ConvBNAct``'s
    ``conv`` then ``bn``); else None. ``layers``: the model's layers by path."""
    parent = layers.get(conv.path.rpartition("/")[0])
    if parent is None:
        return None
    children = [l for l in parent._flatten_layers(include_self=False, recursive=False) if l.weights]
    if len(children) != 2 or children[0] is not conv or not isinstance(children[1], keras.layers.BatchNormalization):
        return None
    return children[1]


def _mapped(state_dict, weights):
    """``(module name, {parameter: tensor}, our layer path or SKIP)`` of every module of
    a state dict; ValueError naming the first that ``weights.rule`` does not know."""
    found = []
    for prefix, params in modules(state_dict).items():
        path = weights.rule(prefix)
        if path is None:
            raise ValueError(
                f"Cannot map {weights.SOURCE}'s {prefix} ({', '.join(sorted(params))}) of {weights.model} to a "
                "keras_cnns layer: is this state dict of that model?"
            )
        found.append((prefix, params, path))
    return found


def transfer_state_dict(state_dict, model, weights):
    """Copies a state dict into the equivalent keras_cnns ``model``, mapping module names
    with ``weights.rule`` (a ``StateDictWeights``).

    Every keras_cnns layer with weights receives them exactly once, and every source
    module maps to a layer (the classifier is left out when the model has no head; the
    rule's ``SKIP`` modules always are); otherwise nothing is copied and the ValueError
    names the layer or the key. A source conv bias where our convolution has none folds
    into the moving mean of the batch norm that follows it.
    """
    source = weights.SOURCE
    ours = weighted_layers(model)
    has_head = any(in_head(path) for path in ours)
    pairs, done = [], set()
    for prefix, params, path in _mapped(state_dict, weights):
        if path == SKIP or (in_head(path) and not has_head):
            continue
        layer = ours.get(path)
        if layer is None:
            raise ValueError(f"Cannot map {source}'s {prefix}: the keras_cnns model has no layer {path!r}.")
        if path in done:
            raise ValueError(
                f"keras_cnns layer {path!r} would receive the weights of two modules, the second {prefix}."
            )
        done.add(path)
        pairs.append((prefix, params, layer))
    missing = sorted(set(ours) - done)
    if missing:
        raise ValueError(
            f"keras_cnns layer {missing[0]!r} receives no weights from the state dict of {source}'s "
            f"{weights.model} ({len(missing)} such layers)."
        )
    maps = flattened_maps(model)
    layers = {layer.path: layer for layer in model._flatten_layers(include_self=False)}
    folds = []
    for prefix, params, layer in pairs:
        if isinstance(layer, keras.layers.Conv2D):
            fold = _following_norm(layer, layers) if "bias" in params and not layer.use_bias else None
            bias = _copy_conv(source, prefix, params, layer, fold)
            if bias is not None:
                folds.append((fold, bias))
        elif isinstance(layer, keras.layers.Dense):
            _copy_dense(source, prefix, params, layer, maps.get(layer.path))
        else:
            _copy_norm(source, prefix, params, layer)
    for norm, bias in folds:  # after the batch norms' own statistics are in
        norm.moving_mean.assign(keras.ops.convert_to_numpy(norm.moving_mean) - bias)


# --- Conversions -----------------------------------------------------------------------


def classes(state_dict, weights):
    """The number of classes of a state dict's classifier (the module the rule maps to
    ``predictions``), or None."""
    grouped = modules(state_dict)
    classifier = next((p for p in grouped if weights.rule(p) == PREDICTIONS), None)
    if classifier is None or "weight" not in grouped[classifier]:
        return None
    return int(grouped[classifier]["weight"].shape[0])


def convert_state_dict(name, weights, state_dict, create, **kwargs):
    """Variant ``name`` (whose ``StateDictWeights`` is ``weights``) with the weights of
    ``state_dict`` (``Weights.convert``: the classes come from the classifier's weights
    unless ``num_classes`` is given, the model returns logits unless
    ``classifier_activation`` is given)."""
    _mapped(state_dict, weights)  # a module of another model fails before anything is built
    return weights.convert(name, state_dict, create, **kwargs)


def find(name, candidates):
    """``(variant name, descriptor)`` of the first of ``candidates`` (pairs of both) whose
    descriptor names the source model ``name`` (``is_model``); ValueError listing the
    supported names otherwise."""
    found = [(variant, w) for variant, w in candidates if w.is_model(name)]
    if not found:
        source = candidates[0][1].SOURCE if candidates else "source"
        supported = ", ".join(dict.fromkeys(w.model for _, w in candidates)) or "none"
        raise ValueError(f"Unsupported {source} model; supported: {supported}. Received: name={name!r}")
    return found[0]


def convert_named(name, candidates, state_dict, create, **kwargs):
    """The variant whose descriptor among ``candidates`` names the source model ``name``
    (``find``), with the weights of ``state_dict`` (``convert_state_dict``)."""
    variant, weights = find(name, candidates)
    return convert_state_dict(variant, weights, state_dict, create, **kwargs)


def convert(source_model, candidates, create, argument="model", **kwargs):
    """The keras_cnns model equivalent to the PyTorch model ``source_model``, with its
    weights: ``candidates`` are ``(variant name, StateDictWeights)`` pairs, the one whose
    ``recognize`` takes ``source_model`` is built with ``create``. ``argument`` names
    the model in the error for an unsupported one."""
    found = [(name, w, options) for name, w in candidates if (options := w.recognize(source_model)) is not None]
    if len(found) != 1:
        source = candidates[0][1].SOURCE if candidates else "source"
        kind = type(source_model).__name__
        raise ValueError(
            f"Unsupported {source} model: a {kind} that is none of "
            f"{', '.join(dict.fromkeys(w.model for _, w in candidates))}. "
            f"Received: {argument}={type(source_model).__module__}.{kind}"
        )
    name, weights, options = found[0]
    return convert_state_dict(name, weights, source_model.state_dict(), create, **{**options, **kwargs})


def count_modules(module, cls):
    """How many submodules of torch ``module`` (itself included) are of class ``cls`` (a name)."""
    return sum(type(m).__name__ == cls for m in module.modules())
