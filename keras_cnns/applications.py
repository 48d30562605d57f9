"""keras.applications interoperability: the same functions, so the same weights.

Twelve keras.applications models compute exactly the function of a keras_cnns variant
(VGG16/19, ResNet50/101/152, InceptionV3, InceptionResNetV2, DenseNet121/169/201,
MobileNet and MobileNetV2 at every width). ``from_keras_applications`` builds our
variant and copies the weights layer by layer; ``create_model(name, weights="imagenet")``
does the same from keras.applications' released weight files (``keras_cnns.pretrained``).

Where the conventions differ the copy is exact, not approximate:

- keras.applications' ResNets give each convolution a bias before batch norm; ours have
  none, and the bias is folded into the batch-norm moving mean
  (``BN(conv(x) + b) == BN'(conv(x))`` with ``mean' = mean - b``).
- Its Inception models' batch norm has no scale; ours gets scale 1.
- Batch-norm epsilons differ (1.001e-5 there, 1e-5 here for ResNet and DenseNet): the
  difference moves into the moving variance, so ``variance + epsilon`` is unchanged.
- MobileNet's classifier is a 1x1 convolution there and a Dense layer here.
"""

import re

import keras
import numpy as np

from keras_cnns.models import create_model

#: The layer types that hold weights, in both libraries' models.
_WEIGHTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense, keras.layers.BatchNormalization)
#: keras.applications' unnamed conv2d_bn() layers (Inception v3, Inception-ResNet v2).
_AUTO = re.compile(r"(conv2d|batch_normalization)(_\d+)?")

_HEAD = ((r"predictions", "head/predictions"),)
_VGG = ((r"block(\d)_conv(\d)", r"block\1/conv\2/conv"), (r"fc([12])", r"head/fc\1"), *_HEAD)
_RESNET = (
    (r"conv1_(conv|bn)", r"conv1/\1"),
    (r"(conv\d_block\d+)_0_(conv|bn)", r"\1/shortcut/\2"),
    (r"(conv\d_block\d+)_([123])_(conv|bn)", r"\1/conv\2/\3"),
    *_HEAD,
)
_DENSENET = (
    (r"conv1_(conv|bn)", r"conv1/\1"),
    (r"(conv\d)_(block\d+)_0_bn", r"\1/\2/norm1"),
    (r"(conv\d)_(block\d+)_1_conv", r"\1/\2/conv1"),
    (r"(conv\d)_(block\d+)_1_bn", r"\1/\2/norm2"),
    (r"(conv\d)_(block\d+)_2_conv", r"\1/\2/conv2"),
    (r"(pool\d)_(bn|conv)", r"\1/\2"),
    (r"bn", "bn"),
    *_HEAD,
)
_MOBILENET = (
    (r"conv1", "conv1/conv"),
    (r"conv1_bn", "conv1/bn"),
    (r"conv_dw_(\d+)", r"block_\1/depthwise"),
    (r"conv_dw_(\d+)_bn", r"block_\1/depthwise_bn"),
    (r"conv_pw_(\d+)", r"block_\1/pointwise/conv"),
    (r"conv_pw_(\d+)_bn", r"block_\1/pointwise/bn"),
    (r"conv_preds", "head/predictions"),
)
_MOBILENET_V2 = (
    (r"Conv1", "conv1/conv"),
    (r"bn_Conv1", "conv1/bn"),
    (r"expanded_conv_depthwise", "block_0/depthwise"),
    (r"expanded_conv_depthwise_BN", "block_0/depthwise_bn"),
    (r"expanded_conv_project", "block_0/project/conv"),
    (r"expanded_conv_project_BN", "block_0/project/bn"),
    (r"block_(\d+)_(expand|project)", r"block_\1/\2/conv"),
    (r"block_(\d+)_(expand|project)_BN", r"block_\1/\2/bn"),
    (r"block_(\d+)_depthwise", r"block_\1/depthwise"),
    (r"block_(\d+)_depthwise_BN", r"block_\1/depthwise_bn"),
    (r"Conv_1", "conv_last/conv"),
    (r"Conv_1_bn", "conv_last/bn"),
    *_HEAD,
)
# The Inception models name few layers; the others pair up in creation order.
_INCEPTION_V3 = _HEAD
_INCEPTION_RESNET = ((r"(block\d+_\d+)_conv", r"\1/up/conv"), (r"conv_7b", "conv_7b/conv"), (r"conv_7b_bn", "conv_7b/bn"), *_HEAD)

#: keras.applications constructor -> layer-name rules (keras name -> our layer path).
RULES = {
    "VGG16": _VGG,
    "VGG19": _VGG,
    "ResNet50": _RESNET,
    "ResNet101": _RESNET,
    "ResNet152": _RESNET,
    "InceptionV3": _INCEPTION_V3,
    "InceptionResNetV2": _INCEPTION_RESNET,
    "DenseNet121": _DENSENET,
    "DenseNet169": _DENSENET,
    "DenseNet201": _DENSENET,
    "MobileNet": _MOBILENET,
    "MobileNetV2": _MOBILENET_V2,
}

#: Widths keras.applications publishes ImageNet weights for (and the keras_cnns builders
#: reproduce exactly at any width).
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


def _make_divisible(value, divisor=8):
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _stage_counts(names, pattern, stages):
    """Blocks per stage, from layer names such as ``conv4_block23_out``."""
    counts = []
    for stage in stages:
        found = [int(m.group(1)) for n in names if (m := re.fullmatch(pattern.format(stage=stage), n))]
        counts.append(max(found, default=0))
    return tuple(counts)


def _alpha(ka_model, names):
    """The width multiplier of a keras.applications MobileNet (v1 or v2)."""
    match = re.fullmatch(r"mobilenet(?:v2)?_(\d+\.\d+)_\w+", ka_model.name)
    if match:
        return float(match.group(1))
    if "conv_pw_13" in names:  # v1: every width is int(channels * alpha)
        return ka_model.get_layer("conv_pw_13").filters / 1024
    last = ka_model.get_layer("block_16_project").filters
    found = [a for a in MOBILENET_V2_ALPHAS if _make_divisible(320 * a) == last]
    if len(found) != 1:
        raise ValueError(
            "Cannot tell the width (alpha) of this keras.applications MobileNetV2 from its "
            "layers; keep keras.applications' default model name (mobilenetv2_<alpha>_<rows>). "
            f"Received: model name {ka_model.name!r}"
        )
    return found[0]


def identify(ka_model):
    """The keras.applications constructor behind ``ka_model``, our variant and its kwargs.

    Recognizes the model by its layer names, so renamed models are recognized too.

    Returns:
        ``(constructor, name, kwargs)``: for instance ``("MobileNet", "mobilenet",
        {"alpha": 0.5})``.
    """
    names = {layer.name for layer in ka_model.layers}
    if "conv2_block1_preact_bn" in names:
        raise ValueError(
            "keras.applications' ResNet V2 (pre-activation, He et al. 2016b) has no keras_cnns "
            f"equivalent. Supported: {', '.join(RULES)}. Received: model {ka_model.name!r}"
        )
    found = None
    if "block1_conv1" in names:
        convs = len([n for n in names if re.fullmatch(r"block\d_conv\d", n)])
        found = {13: ("VGG16", "vgg16"), 16: ("VGG19", "vgg19")}.get(convs)
    elif "conv5_block1_out" in names:
        blocks = _stage_counts(names, r"conv{stage}_block(\d+)_out", range(2, 6))
        found = {
            (3, 4, 6, 3): ("ResNet50", "resnet50"),
            (3, 4, 23, 3): ("ResNet101", "resnet101"),
            (3, 8, 36, 3): ("ResNet152", "resnet152"),
        }.get(blocks)
    elif "conv5_block1_concat" in names:
        blocks = _stage_counts(names, r"conv{stage}_block(\d+)_concat", range(2, 6))
        found = {
            (6, 12, 24, 16): ("DenseNet121", "densenet121"),
            (6, 12, 32, 32): ("DenseNet169", "densenet169"),
            (6, 12, 48, 32): ("DenseNet201", "densenet201"),
        }.get(blocks)
    elif {"mixed9_1", "mixed10"} <= names:
        found = ("InceptionV3", "inception_v3")
    elif {"block8_10_conv", "conv_7b"} <= names:
        found = ("InceptionResNetV2", "inception_resnet_v2")
    elif "conv_pw_13" in names:
        return "MobileNet", "mobilenet", {"alpha": _alpha(ka_model, names)}
    elif "block_16_project" in names:
        return "MobileNetV2", "mobilenet_v2", {"alpha": _alpha(ka_model, names)}
    if found is None:
        raise ValueError(
            "keras_cnns has no equivalent of this model. Supported keras.applications models: "
            f"{', '.join(RULES)}. Received: model {ka_model.name!r}"
        )
    return (*found, {})


def _activation_name(layer):
    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", name)
    return None if name == "linear" else name


def _head_options(ka_model):
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


def from_keras_applications(ka_model):
    """The keras_cnns model equivalent to a keras.applications model, with its weights.

    Works for VGG16, VGG19, ResNet50, ResNet101, ResNet152, InceptionV3,
    InceptionResNetV2, DenseNet121, DenseNet169, DenseNet201, MobileNet and MobileNetV2
    (any width), at any input shape, with or without the classifier, with any pooling.
    The two models compute the same function (to float32 rounding); the returned model
    is the plain keras_cnns variant (``create_model(name, ...)``), ready to train.

    Args:
        ka_model: a model built by a keras.applications constructor, with any weights.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Raises:
        ValueError: an unsupported model, or a layer whose weights do not fit (the
            message names the layer).

    Examples:

    >>> import keras, keras_cnns
    >>> ka = keras.applications.MobileNet(weights=None, alpha=0.25, input_shape=(128, 128, 3))
    >>> model = keras_cnns.from_keras_applications(ka)
    >>> model.name, model.count_params() == ka.count_params()
    ('mobilenet', True)
    """
    if not isinstance(ka_model, keras.Model):
        raise ValueError(f"Expected a keras.applications model. Received: ka_model={ka_model!r}")
    constructor, name, kwargs = identify(ka_model)
    model = create_model(
        name, input_shape=tuple(ka_model.input_shape[1:]), **_head_options(ka_model), **kwargs
    )
    transfer_weights(ka_model, model, constructor)
    return model


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
        if not isinstance(layer, _WEIGHTED):
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
    # counter) is our modules' order; each convolution's batch norm follows it.
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


def weighted_layers(model):
    """``{layer path: layer}`` of every layer of ``model`` that holds weights, nested ones
    included (``"conv2_block1/conv1/conv"``): what a weight transfer must fill."""
    return {layer.path: layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, _WEIGHTED)}


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


def transfer_weights(ka_model, model, constructor=None):
    """Copies a keras.applications model's weights into the equivalent keras_cnns model.

    Both models must have the same architecture and classifier; the input sizes may
    differ where no layer's weights depend on them. Every keras_cnns layer that holds
    weights receives them exactly once.

    Args:
        ka_model: the keras.applications model (the source).
        model: the keras_cnns model (the target), built with the same options.
        constructor: the keras.applications constructor's name; found from the layers
            when None.
    """
    constructor = constructor or identify(ka_model)[0]
    ours = weighted_layers(model)
    order = list(dict.fromkeys(w.path.rpartition("/")[0] for w in model.weights))
    pairs = _pairs(ka_model, order, RULES[constructor])
    # Check the whole mapping before copying anything.
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
