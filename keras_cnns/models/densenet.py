"""DenseNet (Huang, Liu, van der Maaten, Weinberger, 2016).

A variant is its number of dense layers per block (``BLOCK_SIZES``, Table 1 of the
paper); all four ImageNet networks are DenseNet-BC with growth rate k=32, a 4k 1x1
bottleneck, compression 0.5 and 2k=64 stem channels. Names follow keras.applications'
DenseNet: the stem ``conv1`` and ``pool1``, the dense blocks ``conv2`` ... ``conv5``
(their layers ``block1`` ...), the transitions ``pool2`` ... ``pool4``, and the final
batch norm and ReLU ``bn`` and ``relu``.
"""

from keras_cnns.layers import ConvBNAct, DenseBlock, PaddedMaxPool2D, TransitionBlock
from keras_cnns.layers._base import check_choice, make_activation, make_norm, positive_int
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import IMAGENET_RGB, PaperError, register_model

#: Dense layers per block, Table 1 of the paper.
BLOCK_SIZES = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}
#: DenseNet-161, from the authors' released Torch models (not in the paper's Table 1):
#: k=48, 2k=96 stem channels.
BLOCK_SIZES_161 = (6, 12, 36, 24)
#: Stem kinds: ImageNet's 7x7/2 conv + BN + ReLU + 3x3/2 max pool (stride 4), or the
#: CIFAR / SVHN networks' single 3x3 convolution (stride 1), Section 3.
STEMS = {"imagenet": 4, "cifar": 1}

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201", "densenet264"]


def DenseNet(
    *,
    block_sizes,
    growth_rate=32,
    bottleneck_width=4,
    compression=0.5,
    initial_features=64,
    dropout=0.0,
    stem="imagenet",
    norm="batch",
    name="densenet",
    **kwargs,
):
    """A DenseNet: a stem, dense blocks joined by transitions, BN-ReLU, global pooling.

    Huang et al. Densely Connected Convolutional Networks. CVPR 2017,
    https://arxiv.org/abs/1608.06993. The defaults are the paper's ImageNet DenseNet-BC;
    ``bottleneck_width=None`` and ``compression=1.0`` give the plain DenseNet, and
    ``stem="cifar"`` the CIFAR / SVHN networks of Table 2 (a 3x3 convolution with
    ``initial_features`` channels: 16, or 2k for DenseNet-BC; three blocks).

    Args:
        block_sizes: tuple of positive ints, the dense layers in each block.
        growth_rate: int, the channels each dense layer adds (k). Defaults to 32.
        bottleneck_width: int or None, the 1x1 bottleneck has ``bottleneck_width * k``
            channels; None leaves it out. Defaults to 4.
        compression: float in (0, 1], the fraction of channels a transition keeps.
            Defaults to 0.5.
        initial_features: int, channels of the stem convolution. Defaults to 64.
        dropout: float in [0, 1), dropout on each dense layer's new feature maps.
            Defaults to 0.
        stem: ``"imagenet"`` or ``"cifar"``. Defaults to ``"imagenet"``.
        norm: ``"batch"`` or ``"sync_batch"``. Defaults to ``"batch"``.
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation),
            documented in ``keras_cnns.models._builder.build_model``.

    The minimum input size is the total stride: 4 (stem) times 2 per transition, 32 for
    the four-block ImageNet networks.

    Examples:

    >>> model = DenseNet(block_sizes=(2, 2, 2), growth_rate=12, initial_features=24,
    ...                  stem="cifar", input_shape=(32, 32, 3), num_classes=10)
    >>> model.get_layer("conv4").output.shape
    (None, 8, 8, 48)
    """
    check_choice(stem, "stem", tuple(STEMS))
    block_sizes = tuple(block_sizes)
    if not block_sizes or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in block_sizes):
        raise ValueError(
            f"Expected `block_sizes` to be a non-empty tuple of positive ints. Received: block_sizes={block_sizes!r}"
        )
    positive_int(growth_rate, "growth_rate")
    positive_int(initial_features, "initial_features")
    if bottleneck_width is not None:
        positive_int(bottleneck_width, "bottleneck_width")
    if isinstance(compression, bool) or not isinstance(compression, (int, float)) or not 0 < compression <= 1:
        raise ValueError(f"Expected `compression` to be in (0, 1]. Received: compression={compression!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"Expected `dropout` to be in [0, 1). Received: dropout={dropout!r}")
    check_choice(norm, "norm", ("batch", "sync_batch"))
    block_options = dict(growth_rate=growth_rate, bottleneck_width=bottleneck_width, dropout=dropout, norm=norm)
    default_size = 224 if stem == "imagenet" else 32
    min_size = STEMS[stem] * 2 ** (len(block_sizes) - 1)

    def features(x):
        if stem == "imagenet":
            x = ConvBNAct(initial_features, 7, strides=2, padding=3, norm=norm, name="conv1")(x)
            x = PaddedMaxPool2D(3, 2, padding=1, name="pool1")(x)
        else:  # the next dense layer pre-activates: no BN-ReLU after this convolution
            x = ConvBNAct(initial_features, 3, norm=None, activation=None, name="conv1")(x)
        for i, count in enumerate(block_sizes, start=2):
            x = DenseBlock(count, **block_options, name=f"conv{i}")(x)
            if i <= len(block_sizes):
                x = TransitionBlock(compression, norm=norm, name=f"pool{i}")(x)
        x = make_norm(norm, 1e-5, 0.9, True, None, "bn")(x)
        return make_activation("relu", None, "relu")(x)

    return build_model(
        features,
        name=name,
        default_size=default_size,
        min_size=min_size,
        head=dict(pooling="avg"),
        **kwargs,
    )


def _meta(params, macs, extra=""):
    return dict(
        paper=(
            "Huang, Liu, van der Maaten, Weinberger. Densely Connected Convolutional "
            "Networks. CVPR 2017"
        ),
        year=2016,
        url="https://arxiv.org/abs/1608.06993",
        default_size=224,
        min_size=32,
        params=params,
        macs=macs,
        preprocessing=IMAGENET_RGB,
        deviations=(
            "DenseNet-BC as in Table 1 (k=32, 4k bottleneck, compression 0.5, no conv "
            "bias). Batch-norm epsilon 1e-5, as the authors' Torch code and torchvision "
            "(keras.applications uses 1.001e-5, just above cuDNN's 1e-5 minimum; outputs "
            "agree to float32 precision after weight transfer). The stem's 3x3/2 max pool pads by 1 "
            "and the 2x2/2 transition pooling is unpadded (112 -> 56, then 56/28/14/7 as in "
            "Table 1). min_size 32 as keras.applications (the total stride); the network "
            "itself runs down to 29 (torchvision's min_size). He-normal initialization, as "
            "torchvision." + extra
        ),
        feature_layers=("conv1", "conv2", "conv3", "conv4", "relu"),
    )


@register_model(
    **_meta(7_978_856, 2.834), keras_application="DenseNet121",
    depth=121,
    imagenet_error=PaperError(25.02, 7.71, "1 crop", "Table 3"),
)
def densenet121(*, block_sizes=BLOCK_SIZES[121], name="densenet121", **kwargs):
    """DenseNet-121 (DenseNet-BC, k=32, blocks 6-12-24-16)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    depth=161,
    imagenet_error=PaperError(22.862, 6.440, "1 crop", "torchvision's weights (not in the paper)"),
    **_meta(
        28_681_000,
        7.728,
        " DenseNet-161 is not in the paper's Table 1: the authors released it with their "
        "Torch models (k=48, 96 stem channels, blocks 6-12-36-24), and torchvision ships it "
        "(28,681,000 parameters, 7.728 GMACs).",
    ),
)
def densenet161(*, block_sizes=BLOCK_SIZES_161, growth_rate=48, initial_features=96, name="densenet161", **kwargs):
    """DenseNet-161 (DenseNet-BC, k=48, 96 stem channels, blocks 6-12-36-24)."""
    return DenseNet(block_sizes=block_sizes, growth_rate=growth_rate, initial_features=initial_features, name=name, **kwargs)


@register_model(
    **_meta(14_149_480, 3.360), keras_application="DenseNet169",
    depth=169,
    imagenet_error=PaperError(23.80, 6.85, "1 crop", "Table 3"),
)
def densenet169(*, block_sizes=BLOCK_SIZES[169], name="densenet169", **kwargs):
    """DenseNet-169 (DenseNet-BC, k=32, blocks 6-12-32-32)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    **_meta(20_013_928, 4.291), keras_application="DenseNet201",
    depth=201,
    imagenet_error=PaperError(22.58, 6.34, "1 crop", "Table 3"),
)
def densenet201(*, block_sizes=BLOCK_SIZES[201], name="densenet201", **kwargs):
    """DenseNet-201 (DenseNet-BC, k=32, blocks 6-12-48-32)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    depth=265,
    imagenet_error=PaperError(22.15, 6.12, "1 crop", "Table 3"),
    **_meta(
        33_337_704,
        5.752,
        " DenseNet-264 is in neither torchvision nor keras.applications; timm's "
        "densenet264d is another network (k=48 and a deep 3x3 stem), so the counts here "
        "are computed from Table 1. The name is the paper's, although its 6-12-64-48 "
        "blocks, counted as for 121/169/201 (convolutions and classifier), make 265 layers.",
    )
)
def densenet264(*, block_sizes=BLOCK_SIZES[264], name="densenet264", **kwargs):
    """DenseNet-264 (DenseNet-BC, k=32, blocks 6-12-64-48)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)
