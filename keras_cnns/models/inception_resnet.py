"""Inception-ResNet v1 and v2 (Szegedy, Ioffe, Vanhoucke, Alemi, 2016).

A stem to 35x35, residual Inception-A blocks, Reduction-A to 17x17, residual
Inception-B blocks, Reduction-B to 8x8, residual Inception-C blocks, global average
pooling, dropout (keep 0.8) and the classifier. A variant is a row of ``SPECS``.

Layer names follow keras.applications' InceptionResNetV2 (and TF-slim's scopes):
``mixed_5b``, ``block35_1`` ..., ``mixed_6a``, ``block17_1`` ..., ``mixed_7a``,
``block8_1`` ..., ``conv_7b``; the v2 stem's convolutions are named after TF-slim's
(``conv2d_1a`` ... ``maxpool_5a``), the v1 stem is one block, ``stem``.
"""

import keras

from keras_cnns.layers import (
    ConvBNAct,
    InceptionResNetA,
    InceptionResNetB,
    InceptionResNetC,
    InceptionResNetReductionB,
    InceptionResNetV1Stem,
    InceptionResNetV2Mixed5b,
    ReductionA,
)
from keras_cnns.layers._base import scaled_width
from keras_cnns.layers._base import width_multiplier as width_multiplier_arg
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.googlenet import INCEPTION_SPACE
from keras_cnns.models.inception_v4 import DEFAULT_SIZE, PAPER, RECIPE
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.weights import IMAGENET_INCEPTION, KerasApplicationsWeights
from keras_cnns.weights.keras_applications import recognizer

SPECS = {
    # Figs. 14 (stem), 10 (A), 7 (Reduction-A), 11 (B), 12 (Reduction-B), 13 (C), 15.
    "v1": dict(
        stem="v1",
        blocks=(5, 10, 5),
        filters=(((32,), (32, 32), (32, 32, 32)), ((128,), (128, 128, 128)), ((192,), (192, 192, 192))),
        reduction_a=(192, 192, 256, 384),
        reduction_b=((256, 384), (256, 256), (256, 256, 256)),
        linear_last_block=False,
        top_filters=None,
    ),
    # The released TF-slim network (keras.applications, timm), not the paper's Fig. 15.
    "v2": dict(
        stem="v2",
        blocks=(10, 20, 10),
        filters=(((32,), (32, 32), (32, 48, 64)), ((192,), (128, 160, 192)), ((192,), (192, 224, 256))),
        reduction_a=(256, 256, 384, 384),
        reduction_b=((256, 384), (256, 288), (256, 288, 320)),
        linear_last_block=True,
        top_filters=1536,
    ),
}
#: TF-slim's residual scales of the A, B and C blocks (the paper: "between 0.1 and 0.3").
SCALES = (0.17, 0.1, 0.2)
#: (kernel, stride, padding, ceil_mode) of the layers that shrink the map: both stems'
#: (3x3/2, 3x3, 3x3 padded, 3x3/2 pool, 3x3, 3x3/2 conv or pool), then the reductions.
WINDOWS = ((3, 2, 0, False), (3, 1, 0, False), (3, 1, 1, False), (3, 2, 0, False), (3, 1, 0, False), (3, 2, 0, False), (3, 2, 0, False), (3, 2, 0, False))
MIN_SIZE = min_input_size(WINDOWS)
STEMS = ("v1", "v2")

__all__ = ["InceptionResNet", "inception_resnet_v1", "inception_resnet_v2"]


def _v2_stem(x, options, width_multiplier):
    """The released Inception-ResNet-v2 stem: Inception-v3's, then ``mixed_5b``."""

    def width(filters):
        return scaled_width(filters, width_multiplier)

    x = ConvBNAct(width(32), 3, strides=2, padding="valid", name="conv2d_1a", **options)(x)
    x = ConvBNAct(width(32), 3, padding="valid", name="conv2d_2a", **options)(x)
    x = ConvBNAct(width(64), 3, name="conv2d_2b", **options)(x)
    x = keras.layers.MaxPooling2D(3, 2, name="maxpool_3a")(x)
    x = ConvBNAct(width(80), 1, name="conv2d_3b", **options)(x)
    x = ConvBNAct(width(192), 3, padding="valid", name="conv2d_4a", **options)(x)
    x = keras.layers.MaxPooling2D(3, 2, name="maxpool_5a")(x)
    return InceptionResNetV2Mixed5b(name="mixed_5b", width_multiplier=width_multiplier, **options)(x)


def InceptionResNet(
    *,
    stem,
    blocks,
    filters,
    reduction_a,
    reduction_b,
    linear_last_block=False,
    top_filters=None,
    scales=SCALES,
    dropout=0.2,
    norm="batch",
    norm_scale=True,
    width_multiplier=1.0,
    name="inception_resnet",
    **kwargs,
):
    """An Inception-ResNet network (Szegedy et al., 2016, Fig. 15).

    Reference: Szegedy, Ioffe, Vanhoucke, Alemi. Inception-v4, Inception-ResNet and the
    Impact of Residual Connections on Learning. AAAI 2017 (arXiv:1602.07261).

    Branch convolutions have no bias and batch normalization (epsilon 1e-3) with a
    learned scale (timm); ``norm_scale=False`` drops the scale as TF-slim and
    keras.applications do. Each residual branch ends in a biased 1x1 up-projection
    without batch norm.

    Args:
        stem: "v1" (Fig. 14, one block) or "v2" (the released Inception-v3-like stem
            and ``mixed_5b``).
        blocks: three ints, the number of residual A, B and C blocks.
        filters: three tables of branch widths, for the A, B and C blocks (see
            ``InceptionResNetA`` / ``B`` / ``C``).
        reduction_a: Reduction-A's (k, l, m, n) of Table 1.
        reduction_b: the widths of Reduction-B's three convolution branches.
        linear_last_block: the last C block has scale 1 and no activation, as the
            released Inception-ResNet-v2. Defaults to False.
        top_filters: int or None, channels of a final 1x1 convolution (v2's
            ``conv_7b``). Defaults to None.
        scales: residual scales of the A, B and C blocks. Defaults to (0.17, 0.1, 0.2).
        dropout: float, dropout before the classifier. Defaults to 0.2 (keep 0.8).
        norm: "batch" or "sync_batch". Defaults to "batch".
        norm_scale: bool, batch norm learns a scale. Defaults to True.
        width_multiplier: float, width multiplier of every convolution, TF-slim's
            depth_multiplier with min_depth 16 (1.0: the paper's network): each width
            ``d`` becomes ``max(int(d * width_multiplier), 16)``, ``top_filters`` too;
            the residual up-projections keep matching their input. Defaults to 1.0.
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    Examples:

    >>> model = InceptionResNet(**SPECS["v1"], include_top=False, input_shape=(75, 75, 3))
    >>> model.output_shape
    (None, 1, 1, 1792)
    >>> InceptionResNet(**SPECS["v1"], include_top=False, input_shape=(75, 75, 3), width_multiplier=0.5).output_shape
    (None, 1, 1, 896)
    """
    if stem not in STEMS:
        raise ValueError(f"Expected `stem` to be one of {list(STEMS)}. Received: stem={stem!r}")
    blocks = tuple(blocks)
    if len(blocks) != 3 or not all(isinstance(n, int) and n > 0 for n in blocks):
        raise ValueError(f"Expected `blocks` to be three positive ints. Received: blocks={blocks!r}")
    if len(tuple(filters)) != 3 or len(tuple(scales)) != 3:
        raise ValueError(
            "Expected `filters` and `scales` to have one entry per block type (A, B, C). "
            f"Received: filters={filters!r}, scales={scales!r}"
        )
    width_multiplier = width_multiplier_arg(width_multiplier)
    options = dict(norm=norm, norm_epsilon=1e-3, norm_scale=norm_scale)
    block_options = dict(options, width_multiplier=width_multiplier)

    def features(x):
        if stem == "v1":
            x = InceptionResNetV1Stem(name="stem", **block_options)(x)
        else:
            x = _v2_stem(x, options, width_multiplier)
        stages = (
            (InceptionResNetA, "block35", ReductionA(*reduction_a, name="mixed_6a", **block_options)),
            (InceptionResNetB, "block17", InceptionResNetReductionB(reduction_b, name="mixed_7a", **block_options)),
            (InceptionResNetC, "block8", None),
        )
        for (block, prefix, reduction), count, widths, scale in zip(stages, blocks, filters, scales):
            for i in range(1, count + 1):
                linear = linear_last_block and reduction is None and i == count
                x = block(
                    widths,
                    scale=1.0 if linear else scale,
                    output_activation=None if linear else "relu",
                    name=f"{prefix}_{i}",
                    **block_options,
                )(x)
            if reduction is not None:
                x = reduction(x)
        if top_filters is not None:
            x = ConvBNAct(scaled_width(top_filters, width_multiplier), 1, name="conv_7b", **options)(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="avg", dropout=dropout),
        **kwargs,
    )


#: keras.applications.InceptionResNetV2: its named layers, the others in creation order.
KERAS = KerasApplicationsWeights(
    constructor="InceptionResNetV2",
    files=("inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
           "inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    md5=("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4"),
    preprocessing=IMAGENET_INCEPTION,
    rules=((r"(block\d+_\d+)_conv", r"\1/up/conv"), (r"conv_7b", "conv_7b/conv"), (r"conv_7b_bn", "conv_7b/bn"),
           (r"predictions", "predictions")),
    top1=80.3, top1_source="keras.io/api/applications", recognize=recognizer(required=("block8_10_conv", "conv_7b")),
)
_FAMILY = dict(**PAPER, default_size=DEFAULT_SIZE, min_size=MIN_SIZE, recipe=RECIPE, space=INCEPTION_SPACE,
               family_builder=InceptionResNet)


@register_model(
    depth=93,
    paper_error=PaperError(21.3, 5.5, "1 crop", "Table 2"),
    **_FAMILY,
    params=22_756_328,
    macs=6.206,
    deviations=(
        "No public implementation of Inception-ResNet-v1 exists (TF-slim, keras.applications "
        "and timm ship only v2); this one follows the paper's Figs. 14, 10, 7 (k, l, m, n = "
        "192, 192, 256, 384), 11, 12 and 13 with 5 / 10 / 5 blocks (Fig. 15), and takes its "
        "conventions from the released v2: convolutions without bias, batch norm with "
        "epsilon 1e-3 (with its scale, as timm), the residual 1x1 up-projections with a "
        "bias and no batch norm, branches concatenated in TF-slim's order. The paper only "
        "says residuals are scaled by 0.1 to 0.3; we take TF-slim's v2 scales, 0.17 (A), "
        "0.1 (B), 0.2 (C); they have no parameters."
    ),
    feature_layers=("block35_5", "block17_10", "block8_5"),
)
def inception_resnet_v1(*, name="inception_resnet_v1", **kwargs):
    """Inception-ResNet-v1 (Figs. 14 and 15): 5 x A, Reduction-A, 10 x B, Reduction-B, 5 x C."""
    return InceptionResNet(**{**SPECS["v1"], **kwargs}, name=name)  # kwargs may change the table


@register_model(
    depth=176,
    paper_error=PaperError(19.9, 4.9, "1 crop", "Table 2"),
    **_FAMILY,
    params=55_843_464,
    macs=13.156,
    weights=[KERAS],
    deviations=(
        "The released TF-slim layout that keras.applications and timm share, not the "
        "paper's Fig. 15 (Inception-v4 stem, 5 / 10 / 5 blocks), whose channel numbers "
        "(e.g. 1154 and 2048) do not add up: Inception-v3's stem and mixed_5b (320 "
        "channels), 10 x block35 (scale 0.17), mixed_6a (Reduction-A 256, 256, 384, 384), "
        "20 x block17 (0.1, 1088 channels), mixed_7a, 10 x block8 (0.2, 2080 channels; the "
        "last with scale 1 and no activation, as released), conv_7b 1x1 to 1536. Batch "
        "norm keeps its scale as timm does (keras.applications drops it: "
        "norm_scale=False gives its 55,813,192 trainable parameters). Dropout 0.2 before "
        "the classifier as TF-slim (keras.applications has none)."
    ),
    feature_layers=("conv2d_2b", "conv2d_4a", "block35_10", "block17_20", "conv_7b"),
)
def inception_resnet_v2(*, name="inception_resnet_v2", **kwargs):
    """Inception-ResNet-v2, the released layout (keras.applications.InceptionResNetV2)."""
    return InceptionResNet(**{**SPECS["v2"], **kwargs}, name=name)  # kwargs may change the table
