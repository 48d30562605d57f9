"""MobileNet v1 (Howard et al., 2017) and MobileNetV2 (Sandler et al., 2018).

The layouts are keras.applications' ``MobileNet`` and ``MobileNetV2`` layer for layer
(padding, channel rounding, batch-norm epsilon 1e-3, no convolution bias, ReLU6), so
their weights transfer one to one. A variant is its table of blocks and a width
multiplier ``alpha``.

Names, at block granularity: the stem is ``conv1``; block ``block_{i}`` holds what
keras.applications names ``conv_dw_{i}`` and ``conv_pw_{i}`` (v1) or ``block_{i}_*``
(v2; its ``expanded_conv_*`` is our ``block_0``); v2's last 1x1 convolution
(keras.applications' ``Conv_1``, ``out_relu``) is ``conv_last``; the classifier is
``head``.
"""

import collections
import numbers
import re

from keras_cnns.layers import ConvBNAct, DepthwiseSeparableBlock, InvertedResidualBlock
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import Choice, Recipe, Space, same_name_arguments
from keras_cnns.weights import IMAGENET_INCEPTION, KerasApplicationsWeights

#: MobileNet v1, Table 1 of the paper: (pointwise filters, depthwise stride) per block.
V1_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)

Bottleneck = collections.namedtuple("Bottleneck", "expansion filters repeats stride")

#: MobileNetV2, Table 2 of the paper: rows of (t, c, n, s); the stride is the first block's.
V2_BOTTLENECKS = (
    Bottleneck(1, 16, 1, 1),
    Bottleneck(6, 24, 2, 2),
    Bottleneck(6, 32, 3, 2),
    Bottleneck(6, 64, 4, 2),
    Bottleneck(6, 96, 3, 1),
    Bottleneck(6, 160, 3, 2),
    Bottleneck(6, 320, 1, 1),
)

#: The default input and the smallest one (the total stride).
DEFAULT_SIZE, MIN_SIZE = 224, 32

__all__ = ["MobileNet", "MobileNetV2", "mobilenet", "mobilenet_v2"]


def make_divisible(value, divisor=8):
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``),
    one step up if rounding lost more than 10%: MobileNetV2's channel rounding (TF-slim,
    keras.applications, torchvision)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _check_alpha(alpha, minimum=0.0):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (alpha > 0 and alpha >= minimum):
        least = f", at least {minimum} so that every layer keeps a channel" if minimum else ""
        raise ValueError(
            f"Expected `alpha` (the width multiplier) to be a positive number{least}. Received: alpha={alpha!r}"
        )


def _v1_stage_ends():
    ends = [i for i, (_, stride) in enumerate(V1_BLOCKS[1:], start=1) if stride == 2]
    return tuple(f"block_{i}" for i in (*ends, len(V1_BLOCKS)))


def _v2_strides():
    return [row.stride if i == 0 else 1 for row in V2_BOTTLENECKS for i in range(row.repeats)]


def _v2_stage_ends():
    strides = _v2_strides()
    return tuple(f"block_{i}" for i in range(len(strides) - 1) if strides[i + 1] == 2) + ("conv_last",)


def MobileNet(
    *,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    norm="batch",
    name="mobilenet",
    **kwargs,
):
    """MobileNet v1: a 3x3/2 convolution and 13 depthwise separable blocks.

    keras.applications' layout: every convolution is followed by batch norm (epsilon
    1e-3) and ReLU6; strided depthwise convolutions pad the bottom and right by one and
    convolve "valid"; the head is global average pooling, dropout and a dense layer
    (keras.applications' 1x1 convolution on the pooled map, the same parameters).

    Reference: Howard et al. MobileNets: Efficient Convolutional Neural Networks for
    Mobile Vision Applications. arXiv:1704.04861, 2017.

    Args:
        alpha: float, the width multiplier: every layer has ``int(width * alpha)``
            channels. The published values are 1.0, 0.75, 0.5 and 0.25; any value of at
            least 1/32 is accepted (random initialization or your own weights file).
            Defaults to 1.0.
        depth_multiplier: int, depthwise output channels per input channel (Keras'
            argument; the paper's resolution multiplier is the input size). Defaults to 1.
        dropout: float, dropout rate before the classifier. Defaults to 1e-3 (Keras).
        norm: "batch" or "sync_batch". Defaults to "batch".
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    Examples:

    >>> model = MobileNet(alpha=0.25, include_top=False, input_shape=(64, 64, 3))
    >>> model.output_shape
    (None, 2, 2, 256)
    """
    _check_alpha(alpha, 1 / 32)
    bn = dict(norm=norm, norm_epsilon=1e-3)

    def features(x):
        x = ConvBNAct(int(32 * alpha), 3, strides=2, activation="relu6", name="conv1", **bn)(x)
        for i, (filters, stride) in enumerate(V1_BLOCKS, start=1):
            x = DepthwiseSeparableBlock(
                int(filters * alpha), strides=stride, depth_multiplier=depth_multiplier, name=f"block_{i}", **bn
            )(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="avg", dropout=dropout),
        **kwargs,
    )


def MobileNetV2(*, alpha=1.0, dropout=0.0, norm="batch", name="mobilenet_v2", **kwargs):
    """MobileNetV2: a 3x3/2 convolution, 17 inverted residual blocks, a 1x1 convolution.

    keras.applications' layout: block widths ``make_divisible(int(c * alpha), 8)``, the
    stem ``make_divisible(32 * alpha, 8)``, the last convolution 1280 channels, widened
    to ``make_divisible(1280 * alpha, 8)`` only when ``alpha > 1`` (the paper: it is
    never narrowed); batch norm epsilon 1e-3, ReLU6, linear projections; the head is
    global average pooling and a dense layer.

    Reference: Sandler et al. MobileNetV2: Inverted Residuals and Linear Bottlenecks.
    CVPR 2018, arXiv:1801.04381.

    Args:
        alpha: float, the width multiplier. The paper publishes 1.0 and 1.4;
            keras.applications also 0.35, 0.5, 0.75 and 1.3; any positive value is
            accepted (random initialization or your own weights file). Defaults to 1.0.
        dropout: float, dropout rate before the classifier. Defaults to 0 (Keras has
            none; torchvision uses 0.2).
        norm: "batch" or "sync_batch". Defaults to "batch".
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    Examples:

    >>> model = MobileNetV2(alpha=0.35, include_top=False, input_shape=(64, 64, 3))
    >>> model.output_shape
    (None, 2, 2, 1280)
    """
    _check_alpha(alpha)  # make_divisible keeps at least 8 channels
    bn = dict(norm=norm, norm_epsilon=1e-3)
    last_filters = make_divisible(1280 * alpha) if alpha > 1.0 else 1280

    def features(x):
        x = ConvBNAct(make_divisible(32 * alpha), 3, strides=2, activation="relu6", name="conv1", **bn)(x)
        index = 0
        for row in V2_BOTTLENECKS:
            for i in range(row.repeats):
                x = InvertedResidualBlock(
                    make_divisible(int(row.filters * alpha)),
                    strides=row.stride if i == 0 else 1,
                    expansion=row.expansion,
                    name=f"block_{index}",
                    **bn,
                )(x)
                index += 1
        return ConvBNAct(last_filters, 1, activation="relu6", name="conv_last", **bn)(x)

    return build_model(
        features,
        name=name,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="avg", dropout=dropout),
        **kwargs,
    )


#: Sandler et al. 2018, section 6.1; MobileNet v1 says only RMSProp with little weight decay.
RECIPE = Recipe(
    optimizer="rmsprop", lr=0.045, momentum=0.9, weight_decay=4e-5, batch_size=96, epochs=200,
    schedule="exponential", schedule_args=dict(gamma=0.98, every=1), augment="inception",
    source="Sandler et al. 2018, section 6.1 (RMSProp decay and momentum 0.9, weight decay 4e-5, lr 0.045 decayed by 0.98 per epoch, batch 96 per worker)",
    notes="MobileNet v1 (Howard et al. 2017) says only RMSProp with little weight decay; both use MobileNetV2's recipe.",
)
SPACE = Space(
    "mobilenet",
    (Choice("alpha", (0.25, 0.35, 0.5, 0.75, 1.0, 1.4), "width multiplier", default=1.0),),
    same_name_arguments("alpha"),
    "MobileNet width multiplier alpha",
)


# --- Weights ---------------------------------------------------------------------------

V1_KERAS_RULES = (
    (r"conv1", "conv1/conv"),
    (r"conv1_bn", "conv1/bn"),
    (r"conv_dw_(\d+)", r"block_\1/depthwise"),
    (r"conv_dw_(\d+)_bn", r"block_\1/depthwise_bn"),
    (r"conv_pw_(\d+)", r"block_\1/pointwise/conv"),
    (r"conv_pw_(\d+)_bn", r"block_\1/pointwise/bn"),
    (r"conv_preds", "predictions"),
)
V2_KERAS_RULES = (
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
    (r"predictions", "predictions"),
)
#: Widths keras.applications publishes ImageNet weights for (their token in the file name).
V1_ALPHAS = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}
V2_ALPHAS = {a: str(a) for a in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)}


def _named_alpha(model):
    """keras.applications' default model name carries the width: mobilenet_0.50_224."""
    match = re.fullmatch(r"mobilenet(?:v2)?_(\d+\.\d+)_\w+", model.name)
    return float(match.group(1)) if match else None


def _recognize_v1(model):
    names = {layer.name for layer in model.layers}
    if "conv_pw_13" not in names:
        return None
    alpha = _named_alpha(model) or model.get_layer("conv_pw_13").filters / 1024  # every width is int(c * alpha)
    return {"alpha": alpha}


def _recognize_v2(model):
    names = {layer.name for layer in model.layers}
    if "block_16_project" not in names:
        return None
    alpha = _named_alpha(model)
    if alpha is None:
        last = model.get_layer("block_16_project").filters
        found = [a for a in V2_ALPHAS if make_divisible(320 * a) == last]
        if len(found) != 1:
            raise ValueError(
                "Cannot tell the width (alpha) of this keras.applications MobileNetV2 from its "
                "layers; keep keras.applications' default model name (mobilenetv2_<alpha>_<rows>). "
                f"Received: model name {model.name!r}"
            )
        alpha = found[0]
    return {"alpha": alpha}


#: keras.applications publishes no MD5 for the MobileNet files; other input sizes get
#: the 224 weights, as in keras.applications.
KERAS_V1 = KerasApplicationsWeights(
    constructor="MobileNet", files=("mobilenet/mobilenet_{alpha}_{size}_tf.h5", "mobilenet/mobilenet_{alpha}_{size}_tf_no_top.h5"),
    alphas=V1_ALPHAS, sizes=(128, 160, 192, 224), preprocessing=IMAGENET_INCEPTION, rules=V1_KERAS_RULES,
    top1=70.4, top1_source="keras.io/api/applications (alpha 1.0 at 224)", recognize=_recognize_v1,
)
KERAS_V2 = KerasApplicationsWeights(
    constructor="MobileNetV2",
    files=("mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}.h5",
           "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"),
    alphas=V2_ALPHAS, sizes=(96, 128, 160, 192, 224), preprocessing=IMAGENET_INCEPTION, rules=V2_KERAS_RULES,
    top1=71.3, top1_source="keras.io/api/applications (alpha 1.0 at 224)", recognize=_recognize_v2,
)
_FAMILY = dict(default_size=DEFAULT_SIZE, min_size=MIN_SIZE, recipe=RECIPE, space=SPACE)


@register_model(
    depth=28,
    paper_error=PaperError(29.4, None, "1 crop", "Table 8"),
    paper=(
        "Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam. MobileNets: "
        "Efficient Convolutional Neural Networks for Mobile Vision Applications. arXiv 2017"
    ),
    year=2017,
    url="https://arxiv.org/abs/1704.04861",
    **_FAMILY,
    params=4_231_976,
    macs=0.569,
    weights=[KERAS_V1],
    family_builder=MobileNet,
    deviations=(
        "keras.applications' MobileNet layer for layer, for weight transfer: batch norm "
        "epsilon 1e-3, ReLU6 (the paper says ReLU; TF-slim and Keras use ReLU6), strided "
        "depthwise convolutions padded one pixel at the bottom and right then 'valid' "
        "(TF-slim's 'SAME' at even sizes, one pixel smaller at odd sizes), dropout 1e-3 "
        "before the classifier. The classifier is a Dense layer where Keras has a 1x1 "
        "convolution on the pooled map (same parameters and multiply-adds). Batch-norm "
        "momentum 0.9 instead of Keras' 0.99 (training only). Other widths: alpha=0.75 / "
        "0.5 / 0.25 (the paper's Table 6)."
    ),
    feature_layers=_v1_stage_ends(),
)
def mobilenet(*, name="mobilenet", **kwargs):
    """MobileNet v1 (alpha=1.0 by default; 0.75, 0.5, 0.25 published)."""
    return MobileNet(name=name, **kwargs)


@register_model(
    depth=53,
    paper_error=PaperError(28.0, None, "1 crop", "Table 4"),
    paper=(
        "Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and "
        "Linear Bottlenecks. CVPR 2018"
    ),
    year=2018,
    url="https://arxiv.org/abs/1801.04381",
    **_FAMILY,
    params=3_504_872,
    macs=0.301,
    weights=[KERAS_V2],
    family_builder=MobileNetV2,
    deviations=(
        "keras.applications' MobileNetV2 layer for layer, for weight transfer: channels "
        "rounded to multiples of 8, batch norm epsilon 1e-3, strided depthwise "
        "convolutions padded TF 'same' (Keras' correct_pad), no dropout before the "
        "classifier (torchvision has 0.2). Batch-norm momentum 0.9 instead of Keras' "
        "0.999 (training only). The paper's Table 4 gives 3.4M parameters for alpha=1.0 "
        "and 6.9M for alpha=1.4; Keras, torchvision and timm all have 3,504,872 and "
        "6,108,776 (alpha=1.4), which we reproduce: no layout yields 6.9M."
    ),
    feature_layers=_v2_stage_ends(),
)
def mobilenet_v2(*, name="mobilenet_v2", **kwargs):
    """MobileNetV2 (alpha=1.0 by default; 1.4 published, Keras also 0.35-1.3)."""
    return MobileNetV2(name=name, **kwargs)
