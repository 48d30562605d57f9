"""torchvision interoperability: its ImageNet weights in keras_cnns models.

torchvision publishes ImageNet weights for networks that keras.applications has none
for (AlexNet, GoogLeNet, ResNet-18/34, ResNeXt, VGG-11/13, the batch-norm VGGs,
DenseNet-161). A keras_cnns variant that computes exactly what its torchvision
counterpart computes can carry those weights:

- ``from_torchvision(tv_model)`` converts a torchvision model (any ``num_classes``);
- ``from_torchvision_state_dict(name, state_dict)`` converts a state dict, such as a
  file read with ``load_state_dict(path)`` (``torch.load(..., weights_only=True)``,
  which never unpickles arbitrary objects);
- ``create_model(name, weights="torchvision")`` fetches torchvision's weight file
  through torch's hub cache (``$TORCH_HOME/hub/checkpoints``, by default
  ``~/.cache/torch/hub/checkpoints``) and converts it. Offline with no cached file it
  fails at once, naming the file and where to put it.

``TORCHVISION`` lists the covered models. Conventions are matched, not approximated:

- layouts: PyTorch's ``(out, in, kh, kw)`` kernels become Keras' ``(kh, kw, in, out)``;
  the first fully connected layer after AlexNet's and VGG's flattening gets its inputs
  reordered from channels-first ``(C, H, W)`` to channels-last ``(H, W, C)``;
- batch-norm epsilon: the keras_cnns variants use torchvision's (1e-5; GoogLeNet 1e-3);
- padding: every strided convolution and pooling pads symmetrically, as PyTorch does
  (Keras' "same" would pad (0, 1) at stride 2); pooling rounds up where torchvision's
  ``ceil_mode=True`` does (GoogLeNet);
- torchvision's ResNet-50/101/152 are v1.5 (the stride in the 3x3 convolution):
  ``stride_in_3x3=True``;
- GoogLeNet's ``transform_input`` is a layer of the Keras model (``googlenet_bn``'s
  ``transform_input=True``), so both take the same ImageNet-normalized input;
- AlexNet's and VGG's adaptive average pooling before the classifier (6x6, 7x7) is the
  head's ``flatten_size``, so they take any input size there too.

Every torchvision weight model takes torchvision's preprocessing: RGB scaled to [0, 1],
normalized with the ImageNet mean and std (``preprocess_input(name, images,
weights="torchvision")``), resized to ``resize`` and center-cropped to 224. The models
return logits in torchvision; ``from_torchvision*`` build theirs with
``classifier_activation=None`` unless told otherwise.

torch and torchvision are an optional extra (``pip install "keras-cnns[torch]"``): only
the conversion needs them, never building, training or using the models. Import
torchvision before TensorFlow (before keras_cnns): with the CUDA builds of torch it
loads Triton, whose LLVM crashes a process that already has TensorFlow's. This module
itself imports only torch, and only when it reads a weight file.
"""

import collections
import os
import re

import keras
import numpy as np

from keras_cnns.models import create_model
from keras_cnns.models.registry import IMAGENET_RGB, Preprocessing

BASE = "https://download.pytorch.org/models/"

#: A torchvision model: the keras_cnns variant that computes it, the builder options that
#: make it so, torchvision's default ImageNet weight file (under BASE), the resize before
#: the 224 center crop of those weights' evaluation, and options a user may change.
Source = collections.namedtuple("Source", "name options file resize defaults", defaults=({},))

V1_5 = {"stride_in_3x3": True}
#: torchvision pools AlexNet's and VGG's last map adaptively to 6x6 / 7x7 before the
#: classifier (the identity at 224), so they take any input size.
VGG = {"flatten_size": (7, 7)}

#: torchvision model name -> ``Source``; the files are torchvision 0.29's ``DEFAULT``
#: weights (IMAGENET1K_V2 where torchvision has two).
TORCHVISION = {
    "alexnet": Source("alexnet_owt", {}, "alexnet-owt-7be5be79.pth", 256, {"flatten_size": (6, 6)}),
    "vgg11": Source("vgg11", {}, "vgg11-8a719046.pth", 256, VGG),
    "vgg13": Source("vgg13", {}, "vgg13-19584684.pth", 256, VGG),
    "vgg16": Source("vgg16", {}, "vgg16-397923af.pth", 256, VGG),
    "vgg19": Source("vgg19", {}, "vgg19-dcbb9e9d.pth", 256, VGG),
    "vgg11_bn": Source("vgg11_bn", {}, "vgg11_bn-6002323d.pth", 256, VGG),
    "vgg13_bn": Source("vgg13_bn", {}, "vgg13_bn-abd245e5.pth", 256, VGG),
    "vgg16_bn": Source("vgg16_bn", {}, "vgg16_bn-6c64b313.pth", 256, VGG),
    "vgg19_bn": Source("vgg19_bn", {}, "vgg19_bn-c79401a0.pth", 256, VGG),
    "googlenet": Source("googlenet_bn", {}, "googlenet-1378be20.pth", 256, {"transform_input": True}),
    "resnet18": Source("resnet18", {}, "resnet18-f37072fd.pth", 256),
    "resnet34": Source("resnet34", {}, "resnet34-b627a593.pth", 256),
    "resnet50": Source("resnet50", V1_5, "resnet50-11ad3fa6.pth", 232),
    "resnet101": Source("resnet101", V1_5, "resnet101-cd907fc2.pth", 232),
    "resnet152": Source("resnet152", V1_5, "resnet152-f82ba261.pth", 232),
    "resnext50_32x4d": Source("resnext50_32x4d", {}, "resnext50_32x4d-1a0047aa.pth", 232),
    "resnext101_32x8d": Source("resnext101_32x8d", {}, "resnext101_32x8d-110c445d.pth", 232),
    "resnext101_64x4d": Source("resnext101_64x4d", {}, "resnext101_64x4d-173b62eb.pth", 232),
    "densenet121": Source("densenet121", {}, "densenet121-a639ec97.pth", 256),
    "densenet161": Source("densenet161", {}, "densenet161-8d451a50.pth", 256),
    "densenet169": Source("densenet169", {}, "densenet169-b2777c0a.pth", 256),
    "densenet201": Source("densenet201", {}, "densenet201-c1103571.pth", 256),
}
#: keras_cnns variant -> torchvision model name.
BY_VARIANT = {source.name: tv_name for tv_name, source in TORCHVISION.items()}

_INSTALL = 'pip install "keras-cnns[torch]"'


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"torchvision weights need PyTorch, an optional extra of keras_cnns: {_INSTALL} "
            f"(torch and torchvision). ({e})"
        ) from None
    return torch


def source(name):
    """The ``Source`` of a keras_cnns variant (``"alexnet_owt"``) or a torchvision name
    (``"alexnet"``; torchvision's names win where both exist)."""
    if name in TORCHVISION:
        return TORCHVISION[name]
    if name in BY_VARIANT:
        return TORCHVISION[BY_VARIANT[name]]
    raise ValueError(
        f"No torchvision weights for this model. torchvision models covered: {', '.join(TORCHVISION)} "
        f"(keras_cnns.list_models(pretrained='torchvision')). Received: name={name!r}"
    )


def preprocessing(name):
    """The ``Preprocessing`` of keras_cnns variant ``name`` with torchvision's weights:
    ImageNet mean and std on RGB, resize to ``Source.resize``, center crop 224, bilinear."""
    if name not in BY_VARIANT:
        raise ValueError(
            f"No torchvision weights for this model; those with them: {', '.join(BY_VARIANT)}. Received: name={name!r}"
        )
    resize = TORCHVISION[BY_VARIANT[name]].resize
    return Preprocessing(mean=IMAGENET_RGB.mean, std=IMAGENET_RGB.std, crop_pct=224 / resize, interpolation="bilinear")


# --- Layer names: torchvision module -> keras_cnns layer path --------------------------

#: Returned by a rule for torchvision modules that have no keras_cnns counterpart.
SKIP = "skip"


def _resnet_rule(prefix):
    if prefix in ("conv1", "bn1"):
        return "conv1/" + ("conv" if prefix == "conv1" else "bn")
    if prefix == "fc":
        return "head/predictions"
    m = re.fullmatch(r"layer(\d)\.(\d+)\.(?:(conv|bn)(\d)|downsample\.([01]))", prefix)
    if m is None:
        return None
    block = f"conv{int(m[1]) + 1}_block{int(m[2]) + 1}"
    if m[5] is not None:
        return f"{block}/shortcut/" + ("conv" if m[5] == "0" else "bn")
    return f"{block}/conv{m[4]}/{m[3]}"


def _densenet_rule(prefix):
    fixed = {"features.conv0": "conv1/conv", "features.norm0": "conv1/bn", "features.norm5": "bn",
             "classifier": "head/predictions"}
    if prefix in fixed:
        return fixed[prefix]
    m = re.fullmatch(r"features\.denseblock(\d)\.denselayer(\d+)\.(norm|conv)([12])", prefix)
    if m:
        return f"conv{int(m[1]) + 1}/block{m[2]}/{m[3]}{m[4]}"
    m = re.fullmatch(r"features\.transition(\d)\.(norm|conv)", prefix)
    if m:
        return f"pool{int(m[1]) + 1}/" + ("bn" if m[2] == "norm" else "conv")
    return None


_GOOGLENET_BRANCHES = {
    "branch1": "branch1x1",
    "branch2.0": "branch3x3_reduce",
    "branch2.1": "branch3x3",
    "branch3.0": "branch5x5_reduce",
    "branch3.1": "branch5x5",  # a 3x3 kernel in torchvision (kernel_5x5=3)
    "branch4.1": "pool_proj",
}


def _googlenet_rule(prefix):
    stem = {"conv1": "conv1", "conv2": "conv2_reduce", "conv3": "conv2"}
    m = re.fullmatch(r"(conv[123])\.(conv|bn)", prefix)
    if m:
        return f"{stem[m[1]]}/{m[2]}"
    if prefix == "fc":
        return "head/predictions"
    if re.fullmatch(r"aux[12]\..*", prefix):
        return SKIP  # untrained in torchvision's weights, and another head than the paper's
    m = re.fullmatch(r"inception(\d[a-e])\.(branch\d(?:\.\d)?)\.(conv|bn)", prefix)
    if m and m[2] in _GOOGLENET_BRANCHES:
        return f"inception_{m[1]}/{_GOOGLENET_BRANCHES[m[2]]}/{m[3]}"
    return None


def _sequential_rule(table):
    return lambda prefix: table.get(prefix)


_ALEXNET = {
    "features.0": "conv1/conv",
    "features.3": "conv2/conv",
    "features.6": "conv3/conv",
    "features.8": "conv4/conv",
    "features.10": "conv5/conv",
    "classifier.1": "head/fc1",
    "classifier.4": "head/fc2",
    "classifier.6": "head/predictions",
}


def _vgg_table(name):
    """torchvision's ``features.i`` indices of a VGG: conv, (BN), ReLU per convolution,
    a max pooling after each stage."""
    from keras_cnns.models.vgg import CONFIGS

    counts = CONFIGS[{"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}[name.removesuffix("_bn")]]
    bn = name.endswith("_bn")
    table, i = {}, 0
    for block, count in enumerate(counts, start=1):
        for conv in range(1, count + 1):
            table[f"features.{i}"] = f"block{block}/conv{conv}/conv"
            if bn:
                table[f"features.{i + 1}"] = f"block{block}/conv{conv}/bn"
            i += 3 if bn else 2
        i += 1
    return {**table, "classifier.0": "head/fc1", "classifier.3": "head/fc2", "classifier.6": "head/predictions"}


def _rule(tv_name):
    if tv_name == "alexnet":
        return _sequential_rule(_ALEXNET)
    if tv_name.startswith("vgg"):
        return _sequential_rule(_vgg_table(tv_name))
    if tv_name == "googlenet":
        return _googlenet_rule
    if tv_name.startswith("densenet"):
        return _densenet_rule
    return _resnet_rule


# --- Weights -------------------------------------------------------------------------


def _numpy(value, shape=None, axes=None):
    """A float32 array of a torch tensor or array, optionally reshaped to ``shape`` and
    transposed by ``axes``, contiguous. Tensors are permuted by torch, whose copies are
    several times faster than NumPy's strided ones (VGG's 100M-weight fc1)."""
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


def _modules(state_dict):
    """``{module prefix: {parameter: array}}``; batch-norm step counters dropped and the
    legacy DenseNet names of torchvision's files (``norm.1``) modernized, as
    torchvision's own loader does."""
    legacy = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
    modules = {}
    for key, value in state_dict.items():
        if key.endswith("num_batches_tracked"):
            continue
        match = legacy.match(key)
        if match:
            key = match[1] + match[2]
        prefix, _, param = key.rpartition(".")
        modules.setdefault(prefix, {})[param] = value
    return modules


def _check(key, array, shape):
    if tuple(array.shape) != tuple(shape):
        raise ValueError(
            f"Shape mismatch: torchvision's {key} has shape {tuple(array.shape)}, the keras_cnns "
            f"weight needs {tuple(shape)}."
        )


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


def _copy_norm(prefix, params, layer):
    for param, variable in (("weight", layer.gamma), ("bias", layer.beta), ("running_mean", layer.moving_mean),
                            ("running_var", layer.moving_variance)):
        if param not in params:
            raise ValueError(f"torchvision's {prefix} has no {param} for keras_cnns layer {layer.path!r}.")
        value = _numpy(params[param])
        _check(f"{prefix}.{param}", value, variable.shape)
        variable.assign(value)


def transfer_state_dict(state_dict, model, tv_name):
    """Copies a torchvision state dict into the equivalent keras_cnns ``model``.

    Every keras_cnns layer with weights receives them exactly once, and every torchvision
    module maps to a layer (the classifier is left out when the model has no head;
    GoogLeNet's auxiliary classifiers always are); otherwise nothing is copied and the
    ValueError names the layer or the key.
    """
    from keras_cnns.applications import weighted_layers

    ours = weighted_layers(model)
    has_head = any(path.startswith("head/") for path in ours)
    rule = _rule(tv_name)
    pairs, done = [], set()
    for prefix, params in _modules(state_dict).items():
        path = rule(prefix)
        if path is None:
            raise ValueError(
                f"Cannot map torchvision's {prefix} ({', '.join(sorted(params))}) of {tv_name} to a "
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
            f"{tv_name} ({len(missing)} such layers)."
        )
    flattened = None
    if has_head and model.get_layer("head").pooling == "flatten":
        head = model.get_layer("head")
        flattened = tuple(head.input.shape[1:])
        if head.flatten_size is not None:
            flattened = (*head.flatten_size, flattened[-1])
    for prefix, params, layer in pairs:
        if isinstance(layer, keras.layers.Conv2D):
            _copy_conv(prefix, params, layer)
        elif isinstance(layer, keras.layers.Dense):
            _copy_dense(prefix, params, layer, flattened if layer.path == "head/fc1" else None)
        else:
            _copy_norm(prefix, params, layer)


def _check_options(tv_name, kwargs):
    src = TORCHVISION[tv_name]
    conflicting = {k: v for k, v in kwargs.items() if k in src.options and v != src.options[k]}
    if conflicting:
        key, value = next(iter(conflicting.items()))
        raise ValueError(
            f"torchvision's {tv_name} is keras_cnns' {src.name} with {key}={src.options[key]!r}. "
            f"Received: {key}={value!r}"
        )


def _build(tv_name, kwargs, state_dict, builder=None):
    _check_options(tv_name, kwargs)
    src = TORCHVISION[tv_name]
    options = {**src.defaults, **kwargs, **src.options}
    if options.get("include_top", True) and "num_classes" not in kwargs and state_dict is not None:
        rule = _rule(tv_name)
        modules = _modules(state_dict)
        classifier = next((p for p in modules if rule(p) == "head/predictions"), None)
        if classifier is not None and "weight" in modules[classifier]:
            options["num_classes"] = int(modules[classifier]["weight"].shape[0])
    return builder(**options) if builder is not None else create_model(src.name, **options)


def from_torchvision_state_dict(name, state_dict, **kwargs):
    """The keras_cnns model of torchvision model ``name``, with the weights of ``state_dict``.

    Args:
        name: a torchvision model name (``"resnet50"``, ``"alexnet"``, ``"googlenet"``:
            ``TORCHVISION``).
        state_dict: a mapping of parameter names to torch tensors or arrays, as
            ``tv_model.state_dict()`` or ``load_state_dict(path)`` give.
        **kwargs: builder arguments (input_shape, include_top, pooling, ...). The
            number of classes is read from the classifier's weights; the model returns
            logits (``classifier_activation=None``) unless told otherwise. For
            GoogLeNet, ``transform_input`` defaults to True, as torchvision's released
            weights; pass False for one trained with torchvision's default.

    Returns:
        An uncompiled keras_cnns ``keras.Model`` (the variant ``TORCHVISION[name].name``).

    Raises:
        ValueError: an unsupported name, or a state dict that does not fit (the message
            names the key or the layer).

    Examples:

    >>> import torchvision, keras_cnns
    >>> tv = torchvision.models.resnet18(num_classes=10)
    >>> model = keras_cnns.from_torchvision_state_dict("resnet18", tv.state_dict())
    >>> model.name, model.output_shape
    ('resnet18', (None, 10))
    """
    if name not in TORCHVISION:
        raise ValueError(f"Unsupported torchvision model; supported: {', '.join(TORCHVISION)}. Received: name={name!r}")
    kwargs.setdefault("classifier_activation", None)
    model = _build(name, kwargs, state_dict)
    transfer_state_dict(state_dict, model, name)
    return model


def identify(tv_model):
    """``(torchvision name, builder options)`` of a torchvision classification model,
    from its class and structure (ResNet's block type, depths, groups and width)."""
    kind = type(tv_model).__name__

    def count(modules, cls):
        return sum(type(m).__name__ == cls for m in modules.modules())

    if kind == "AlexNet":
        return "alexnet", {}
    if kind == "VGG":
        depth = {8: 11, 10: 13, 13: 16, 16: 19}.get(count(tv_model.features, "Conv2d"))
        if depth is not None:
            return f"vgg{depth}" + ("_bn" if count(tv_model.features, "BatchNorm2d") else ""), {}
    if kind == "GoogLeNet":
        return "googlenet", {"transform_input": bool(tv_model.transform_input)}
    if kind == "ResNet":
        block = type(tv_model.layer1[0]).__name__
        layers = tuple(len(getattr(tv_model, f"layer{i}")) for i in range(1, 5))
        shape = (block, layers, tv_model.groups, tv_model.base_width)
        known = {
            ("BasicBlock", (2, 2, 2, 2), 1, 64): "resnet18",
            ("BasicBlock", (3, 4, 6, 3), 1, 64): "resnet34",
            ("Bottleneck", (3, 4, 6, 3), 1, 64): "resnet50",
            ("Bottleneck", (3, 4, 23, 3), 1, 64): "resnet101",
            ("Bottleneck", (3, 8, 36, 3), 1, 64): "resnet152",
            ("Bottleneck", (3, 4, 6, 3), 32, 4): "resnext50_32x4d",
            ("Bottleneck", (3, 4, 23, 3), 32, 8): "resnext101_32x8d",
            ("Bottleneck", (3, 4, 23, 3), 64, 4): "resnext101_64x4d",
        }
        if shape in known:
            return known[shape], {}
    if kind == "DenseNet":
        features = tv_model.features
        blocks = tuple(count(getattr(features, f"denseblock{i}"), "_DenseLayer") for i in range(1, 5))
        shape = (features.conv0.out_channels, features.denseblock1.denselayer1.conv2.out_channels, blocks)
        known = {
            (64, 32, (6, 12, 24, 16)): "densenet121",
            (96, 48, (6, 12, 36, 24)): "densenet161",
            (64, 32, (6, 12, 32, 32)): "densenet169",
            (64, 32, (6, 12, 48, 32)): "densenet201",
        }
        if shape in known:
            return known[shape], {}
    raise ValueError(
        f"Unsupported torchvision model: a {kind} that is none of {', '.join(TORCHVISION)}. "
        f"Received: tv_model={type(tv_model).__module__}.{kind}"
    )


def from_torchvision(tv_model, **kwargs):
    """The keras_cnns model equivalent to a torchvision classification model, with its weights.

    Works for the torchvision models of ``TORCHVISION`` (AlexNet, VGG with and without
    batch norm, GoogLeNet, ResNet, ResNeXt, DenseNet) with any number of classes. In
    inference mode the two compute the same function, to float32 rounding, on the same
    images (NCHW there, NHWC here). GoogLeNet's auxiliary classifiers are not converted.

    Args:
        tv_model: a torchvision model (``torchvision.models.resnet50(...)``).
        **kwargs: builder arguments (input_shape, include_top, pooling,
            classifier_activation, ...); the classes come from the model, and the
            keras model returns logits, as torchvision's, unless told otherwise.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Examples:

    >>> import torchvision, keras_cnns
    >>> tv = torchvision.models.densenet121(num_classes=5)
    >>> keras_cnns.from_torchvision(tv, input_shape=(64, 64, 3)).output_shape
    (None, 5)
    """
    name, options = identify(tv_model)
    return from_torchvision_state_dict(name, tv_model.state_dict(), **{**options, **kwargs})


# --- Weight files --------------------------------------------------------------------


def checkpoint_dir():
    """torch's hub cache for weight files: ``$TORCH_HOME/hub/checkpoints`` (by default
    ``~/.cache/torch/hub/checkpoints``), as ``torch.hub.get_dir()`` says."""
    return os.path.join(_torch().hub.get_dir(), "checkpoints")


def load_state_dict(path):
    """A state dict read from a ``.pth`` file, safely (``weights_only=True``)."""
    return _torch().load(path, map_location="cpu", weights_only=True)


def fetch(name):
    """The state dict of torchvision's default ImageNet weights for ``name`` (a
    torchvision or keras_cnns name): from torch's hub cache, or downloaded there now.

    Raises:
        ImportError: torch is not installed (the message says which extra installs it).
        OSError: no cached file and no network; the message names the file and the folder.
    """
    from keras_cnns.pretrained import unreachable

    torch = _torch()
    src = source(name)
    url = BASE + src.file
    path = os.path.join(checkpoint_dir(), src.file)
    if os.path.isfile(path):
        return load_state_dict(path)
    reason = unreachable(url)
    if reason is None:
        try:
            return torch.hub.load_state_dict_from_url(url, map_location="cpu", check_hash=True, weights_only=True)
        except Exception as e:  # URLError, a hash mismatch, ...
            reason = str(e)
    raise OSError(
        f"Cannot download torchvision's weights {src.file} ({reason}). Download {url} and place it "
        f"at {path} (torch's hub cache: $TORCH_HOME/hub/checkpoints, by default "
        f"~/.cache/torch/hub/checkpoints)."
    )


def build_pretrained(name, builder, kwargs):
    """Builds variant ``name`` with torchvision's ImageNet weights (``weights="torchvision"``).

    The weights are found (or found missing) before the model is built.
    """
    src = source(name)
    tv_name = BY_VARIANT[src.name]
    if name != src.name:
        raise ValueError(f"torchvision's {tv_name} weights are for keras_cnns' {src.name}. Received: name={name!r}")
    include_top = kwargs.get("include_top", True)
    if include_top and kwargs.get("num_classes", 1000) != 1000:
        raise ValueError(
            "torchvision's ImageNet weights with include_top=True have 1000 classes; use "
            f"include_top=False for another head. Received: num_classes={kwargs['num_classes']}"
        )
    shape = kwargs.get("input_shape")
    fixed = "flatten_size" in src.defaults and kwargs.get("flatten_size", src.defaults["flatten_size"]) is None
    if include_top and fixed and shape is not None and tuple(shape)[:2] != (224, 224):
        raise ValueError(
            f"With include_top=True and flatten_size=None, {name}'s torchvision weights need input_shape "
            "(224, 224, 3) (its classifier then flattens the last feature map as it is); keep "
            f"flatten_size, torchvision's adaptive pooling, for other sizes. Received: input_shape={tuple(shape)}"
        )
    _check_options(tv_name, kwargs)
    state_dict = fetch(name)
    model = _build(tv_name, {**kwargs, "weights": None}, None, builder)
    transfer_state_dict(state_dict, model, tv_name)
    return model
