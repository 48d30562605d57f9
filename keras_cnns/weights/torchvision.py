"""The torchvision format: PyTorch state dicts of torchvision's models.

A variant that computes exactly what a torchvision model computes declares
``TorchvisionWeights``: the torchvision model name, its default ImageNet weight file,
the resize of those weights' evaluation, a ``rule`` from torchvision's module names to
our layer paths, a ``recognize`` function for torchvision model objects, and the
builder options that make our variant torchvision's. Then

- ``create_model(name, weights="torchvision")`` fetches the file through torch's hub
  cache (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``)
  and converts it; offline with no cached file it fails at once, naming the file and
  the folder;
- ``convert_state_dict`` and ``convert`` (``keras_cnns.from_torchvision_state_dict`` and
  ``keras_cnns.from_torchvision``) convert a state dict or a model of any class count.

Conventions are matched, not approximated: PyTorch's ``(out, in, kh, kw)`` kernels
become Keras' ``(kh, kw, in, out)``; the Dense layer after a flattening head gets its
inputs reordered from channels-first ``(C, H, W)`` to channels-last ``(H, W, C)``
flattening. Every keras_cnns layer with weights receives them exactly once and every
torchvision module maps to a layer (or is skipped by its rule), else nothing is copied
and the error names the key or the layer.

torch is an optional extra (``pip install "keras-cnns[torch]"``), needed only here and
only when a file is read. Import torchvision before TensorFlow in one process: with the
CUDA builds of torch it loads Triton, whose LLVM crashes a process that already has
TensorFlow's. This module imports only torch, which is safe in any order.
"""

import dataclasses
import os
import re
from typing import Callable

import keras
import numpy as np

from keras_cnns.weights.base import SKIP, Weights, weighted_layers
from keras_cnns.weights.fetch import fetch as fetch_file
from keras_cnns.weights.preprocessing import IMAGENET_RGB, Preprocessing

BASE = "https://download.pytorch.org/models/"
INSTALL = 'pip install "keras-cnns[torch]"'
#: torchvision's README on its weights (it states no license of their own).
LICENSE = (
    "No license stated by torchvision for its pre-trained weights (its README: they may have their own "
    "terms, derived from the dataset they were trained on, ImageNet)"
)


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"torchvision weights need PyTorch, an optional extra of keras_cnns: {INSTALL} "
            f"(torch and torchvision). ({e})"
        ) from None
    return torch


def preprocessing(resize, crop=224):
    """torchvision's evaluation: RGB in [0, 1] normalized with the ImageNet mean and std,
    bilinear resize of the shorter side to ``resize``, center crop ``crop``."""
    return Preprocessing(mean=IMAGENET_RGB.mean, std=IMAGENET_RGB.std, crop_pct=crop / resize, interpolation="bilinear")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchvisionWeights(Weights):
    """torchvision's ImageNet weights for a variant that computes its model's function.

    Attributes:
        model: the name of torchvision's model (its ``torchvision.models`` builder).
        file: torchvision's default weight file under ``BASE``; the 8 hex digits after
            its last ``-`` are the start of its SHA-256, which the download checks.
        resize: the resize before the 224 center crop of the weights' evaluation.
        rule: torchvision module name (state-dict key without the parameter) -> our
            layer path, None for an unknown module, or ``SKIP``.
        recognize: a function of a torchvision model object returning our variant's
            builder options when it is this model (with its structure's own options,
            such as a flag it was built with), else None.
    """

    model: str
    file: str
    resize: int = 256
    rule: Callable = dataclasses.field(default=None, repr=False, compare=False)
    recognize: Callable = dataclasses.field(default=None, repr=False, compare=False)
    tag: str = "torchvision"
    preprocessing: Preprocessing = None
    license: str = LICENSE

    FORMAT = "torchvision"

    def __post_init__(self):
        if self.preprocessing is None:
            object.__setattr__(self, "preprocessing", preprocessing(self.resize))

    @property
    def label(self):
        return f"torchvision {self.model}"

    @property
    def url(self):
        return BASE + self.file

    @property
    def checksum(self):
        match = re.search(r"-([0-9a-f]{8,})\.", self.file)
        return f"sha256:{match.group(1)}" if match else None

    @classmethod
    def claims(cls, path):
        return os.fspath(path).endswith((".pth", ".pt"))

    def fetch(self, info, kwargs):
        _torch()  # the missing extra is named before any download
        # torch.hub trusts the files of its cache (it checked them when it downloaded
        # them); so do we, and check what we download.
        path = fetch_file(
            self.url, checkpoint_dir(), checksum=self.checksum, check_cached=False, what="torchvision's weights",
            cache="torch's hub cache: $TORCH_HOME/hub/checkpoints, by default ~/.cache/torch/hub/checkpoints",
        )
        return load_state_dict(path)

    def read(self, path, info, kwargs):
        return load_state_dict(path)

    def transfer(self, source, model, kwargs):
        transfer_state_dict(source, model, self)


def checkpoint_dir():
    """torch's hub cache for weight files: ``$TORCH_HOME/hub/checkpoints`` (by default
    ``~/.cache/torch/hub/checkpoints``), as ``torch.hub.get_dir()`` says."""
    return os.path.join(_torch().hub.get_dir(), "checkpoints")


def load_state_dict(path):
    """A state dict read from a ``.pth`` file, safely (``weights_only=True``: no
    arbitrary objects are unpickled)."""
    return _torch().load(path, map_location="cpu", weights_only=True)


# --- Weights -------------------------------------------------------------------------


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


def _check(key, array, shape):
    if tuple(array.shape) != tuple(shape):
        raise ValueError(
            f"Shape mismatch: torchvision's {key} has shape {tuple(array.shape)}, the keras_cnns "
            f"weight needs {tuple(shape)}."
        )


def _copy_bias(prefix, params, layer):
    has = "bias" in params
    if has != bool(layer.use_bias):
        raise ValueError(
            f"torchvision's {prefix} {'has' if has else 'has no'} bias, keras_cnns layer "
            f"{layer.path!r} {'has' if layer.use_bias else 'has none'}."
        )
    if has:
        bias = _numpy(params["bias"])
        _check(f"{prefix}.bias", bias, layer.bias.shape)
        layer.bias.assign(bias)


def _copy_conv(prefix, params, layer):
    kh, kw, inputs, filters = tuple(layer.kernel.shape)
    _check(f"{prefix}.weight", params["weight"], (filters, inputs, kh, kw))  # (out, in / groups, kh, kw)
    layer.kernel.assign(_numpy(params["weight"], axes=(2, 3, 1, 0)))
    _copy_bias(prefix, params, layer)


def _copy_dense(prefix, params, layer, feature_map):
    inputs, units = tuple(layer.kernel.shape)
    _check(f"{prefix}.weight", params["weight"], (units, inputs))  # (out, in)
    if feature_map is None:
        kernel = _numpy(params["weight"], axes=(1, 0))
    else:
        # torchvision flattens (C, H, W); Keras flattens (H, W, C).
        h, w, c = feature_map
        kernel = _numpy(params["weight"], shape=(units, c, h * w), axes=(2, 1, 0)).reshape(inputs, units)
    layer.kernel.assign(kernel)
    _copy_bias(prefix, params, layer)


def _copy_norm(prefix, params, layer):
    for param, variable in (("weight", layer.gamma), ("bias", layer.beta), ("running_mean", layer.moving_mean),
                            ("running_var", layer.moving_variance)):
        if param not in params:
            raise ValueError(f"torchvision's {prefix} has no {param} for keras_cnns layer {layer.path!r}.")
        value = _numpy(params[param])
        _check(f"{prefix}.{param}", value, variable.shape)
        variable.assign(value)


def _flattened_map(model):
    """``(path of the head's first Dense layer, (H, W, C) it flattens)`` when the model's
    head flattens a feature map, else ``(None, None)``."""
    head = next((layer for layer in model.layers if layer.name == "head"), None)
    if head is None or getattr(head, "pooling", None) != "flatten":
        return None, None
    shape = tuple(head.input.shape[1:])
    if getattr(head, "flatten_size", None) is not None:
        shape = (*head.flatten_size, shape[-1])
    first = next(layer for layer in head._flatten_layers(include_self=False) if isinstance(layer, keras.layers.Dense))
    return first.path, shape


def transfer_state_dict(state_dict, model, weights):
    """Copies a torchvision state dict into the equivalent keras_cnns ``model``, mapping
    module names with ``weights.rule``.

    Every keras_cnns layer with weights receives them exactly once, and every torchvision
    module maps to a layer (the classifier is left out when the model has no head; the
    rule's ``SKIP`` modules always are); otherwise nothing is copied and the ValueError
    names the layer or the key.
    """
    ours = weighted_layers(model)
    has_head = any(path.startswith("head/") for path in ours)
    pairs, done = [], set()
    for prefix, params in modules(state_dict).items():
        path = weights.rule(prefix)
        if path is None:
            raise ValueError(
                f"Cannot map torchvision's {prefix} ({', '.join(sorted(params))}) of {weights.model} to a "
                "keras_cnns layer: is this state dict of that model?"
            )
        if path == SKIP or (path.startswith("head/") and not has_head):
            continue
        layer = ours.get(path)
        if layer is None:
            raise ValueError(f"Cannot map torchvision's {prefix}: the keras_cnns model has no layer {path!r}.")
        if path in done:
            raise ValueError(f"keras_cnns layer {path!r} would receive the weights of two modules, the second {prefix}.")
        done.add(path)
        pairs.append((prefix, params, layer))
    missing = sorted(set(ours) - done)
    if missing:
        raise ValueError(
            f"keras_cnns layer {missing[0]!r} receives no weights from the state dict of torchvision's "
            f"{weights.model} ({len(missing)} such layers)."
        )
    flattening, feature_map = _flattened_map(model)
    for prefix, params, layer in pairs:
        if isinstance(layer, keras.layers.Conv2D):
            _copy_conv(prefix, params, layer)
        elif isinstance(layer, keras.layers.Dense):
            _copy_dense(prefix, params, layer, feature_map if layer.path == flattening else None)
        else:
            _copy_norm(prefix, params, layer)


def classes(state_dict, weights):
    """The number of classes of a state dict's classifier (the module the rule maps to
    ``head/predictions``), or None."""
    grouped = modules(state_dict)
    classifier = next((p for p in grouped if weights.rule(p) == "head/predictions"), None)
    if classifier is None or "weight" not in grouped[classifier]:
        return None
    return int(grouped[classifier]["weight"].shape[0])


def convert_state_dict(name, weights, state_dict, create, **kwargs):
    """Variant ``name`` (whose ``TorchvisionWeights`` is ``weights``) built with
    ``create(name, **options)`` and the weights of ``state_dict``: the classes come from
    the classifier's weights unless ``num_classes`` is given, the model returns logits
    unless ``classifier_activation`` is given."""
    kwargs.setdefault("classifier_activation", None)
    options = weights.builder_options(name, kwargs)
    if options.get("include_top", True) and "num_classes" not in kwargs:
        found = classes(state_dict, weights)
        if found is not None:
            options["num_classes"] = found
    model = create(name, **options)
    transfer_state_dict(state_dict, model, weights)
    return model


def convert(tv_model, candidates, create, **kwargs):
    """The keras_cnns model equivalent to the torchvision model ``tv_model``, with its
    weights: ``candidates`` are ``(variant name, TorchvisionWeights)`` pairs, the one
    whose ``recognize`` takes ``tv_model`` is built with ``create``."""
    found = [(name, w, options) for name, w in candidates if (options := w.recognize(tv_model)) is not None]
    if len(found) != 1:
        kind = type(tv_model).__name__
        raise ValueError(
            f"Unsupported torchvision model: a {kind} that is none of "
            f"{', '.join(dict.fromkeys(w.model for _, w in candidates))}. "
            f"Received: tv_model={type(tv_model).__module__}.{kind}"
        )
    name, weights, options = found[0]
    return convert_state_dict(name, weights, tv_model.state_dict(), create, **{**options, **kwargs})


def count_modules(module, cls):
    """How many submodules of torch ``module`` (itself included) are of class ``cls`` (a name)."""
    return sum(type(m).__name__ == cls for m in module.modules())
