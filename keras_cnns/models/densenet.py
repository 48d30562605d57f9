"""DenseNet (Huang, Liu, van der Maaten, Weinberger, 2016).

A variant is its number of dense layers per block (``BLOCK_SIZES``, Table 1 of the
paper); all four ImageNet networks are DenseNet-BC with growth rate k=32, a 4k 1x1
bottleneck, compression 0.5 and 2k=64 stem channels. Names follow keras.applications'
DenseNet: the stem ``conv1`` and ``pool1``, the dense blocks ``conv2`` ... ``conv5``
(their layers ``block1`` ...), the transitions ``pool2`` ... ``pool4``, and the final
batch norm and ReLU ``bn`` and ``relu``.
"""

import re

from keras_cnns.layers import ConvBNAct, DenseBlock, PaddedMaxPool2D, TransitionBlock
from keras_cnns.layers._base import check_choice, make_activation, make_norm, positive_int
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import Choice, Recipe, Space, same_name_arguments
from keras_cnns.weights import CIFAR10_RGB, IMAGENET_RGB, KerasApplicationsWeights, TorchvisionWeights
from keras_cnns.weights.keras_applications import recognizer
from keras_cnns.weights.torchvision import count_modules

#: Dense layers per block, Table 1 of the paper.
BLOCK_SIZES = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}
#: DenseNet-161, from the authors' released Torch models (not in the paper's Table 1):
#: k=48, 2k=96 stem channels.
BLOCK_SIZES_161 = (6, 12, 36, 24)
#: Stem kinds: ImageNet's 7x7/2 conv + BN + ReLU + 3x3/2 max pool (stride 4), or the
#: CIFAR / SVHN networks' single 3x3 convolution (stride 1), Section 3.
STEMS = {"imagenet": 4, "cifar": 1}
#: Default input sizes of the stems.
DEFAULT_SIZES = {"imagenet": 224, "cifar": 32}


def min_size(block_sizes, stem="imagenet"):
    """The smallest input: the total stride, the stem's times 2 per transition."""
    return STEMS[stem] * 2 ** (len(block_sizes) - 1)

#: DenseNet-BC (L=100, k=12) for CIFAR, Table 2: three blocks of (100 - 4) / 6 = 16
#: bottleneck layers.
BLOCK_SIZES_BC_100 = (16, 16, 16)

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201", "densenet264", "densenet_bc_100"]


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
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
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
        default_size=DEFAULT_SIZES[stem],
        min_size=min_size(block_sizes, stem),
        head=dict(pooling="avg"),
        **kwargs,
    )


#: Huang et al. 2016, section 4.2.
RECIPE = Recipe(
    optimizer="nesterov", lr=0.1, momentum=0.9, weight_decay=1e-4, batch_size=256, epochs=90,
    schedule="step", schedule_args=dict(milestones=(30, 60), gamma=0.1), augment="resnet",
    source="Huang et al. 2016, section 4.2 (SGD, Nesterov momentum 0.9, lr 0.1 divided by 10 at epochs 30 and 60, weight decay 1e-4, batch 256)",
)
SPACE = Space(
    "densenet",
    (
        Choice("growth_rate", (12, 16, 24, 32, 48), "channels each dense layer adds (k)", default=32),
        Choice("compression", (0.5, 0.75, 1.0), "fraction of channels a transition keeps", default=0.5),
    ),
    same_name_arguments("growth_rate", "compression"),
    "DenseNet growth rate and compression",
)

#: Huang et al. 2016, section 4.2 (CIFAR and SVHN), with the "+" augmentation of
#: section 4.1 (DenseNet-BC-100's 4.51 % in Table 2 is C10+).
CIFAR_RECIPE = Recipe(
    optimizer="nesterov", lr=0.1, momentum=0.9, weight_decay=1e-4, batch_size=64, epochs=300,
    schedule="step", schedule_args=dict(milestones=(150, 225), gamma=0.1), augment="cifar",
    source="Huang et al. 2016, sections 4.1-4.2 (SGD, Nesterov momentum 0.9, lr 0.1 divided by 10 at 50% and 75% "
           "of 300 epochs, weight decay 1e-4, batch 64; padding, random crops and flips)",
    notes="No dropout with data augmentation, as the paper.",
)
CIFAR_SPACE = Space(
    "densenet_cifar",
    (
        Choice("growth_rate", (12, 24, 40), "channels each dense layer adds (k), the stem 2k (Table 2: 12, 24, 40)"),
        Choice("compression", (0.5, 0.75, 1.0), "fraction of channels a transition keeps", default=0.5),
    ),
    lambda info, v: (info.name, dict(growth_rate=v["growth_rate"], initial_features=2 * v["growth_rate"],
                                     compression=v["compression"])),
    "CIFAR DenseNet-BC growth rate and compression",
)


# --- Weights ---------------------------------------------------------------------------

KERAS_RULES = (
    (r"conv1_(conv|bn)", r"conv1/\1"),
    (r"(conv\d)_(block\d+)_0_bn", r"\1/\2/norm1"),
    (r"(conv\d)_(block\d+)_1_conv", r"\1/\2/conv1"),
    (r"(conv\d)_(block\d+)_1_bn", r"\1/\2/norm2"),
    (r"(conv\d)_(block\d+)_2_conv", r"\1/\2/conv2"),
    (r"(pool\d)_(bn|conv)", r"\1/\2"),
    (r"bn", "bn"),
    (r"predictions", "predictions"),
)


def _keras_weights(depth, md5, top1):
    stem = f"densenet/densenet{depth}_weights_tf_dim_ordering_tf_kernels"
    return KerasApplicationsWeights(
        constructor=f"DenseNet{depth}", files=(stem + ".h5", stem + "_notop.h5"), md5=md5, preprocessing=IMAGENET_RGB,
        rules=KERAS_RULES, top1=top1, top1_source="keras.io/api/applications",
        recognize=recognizer(blocks=(r"conv(\d)_block(\d+)_concat", BLOCK_SIZES[depth])),
    )


_TORCHVISION_FIXED = {"features.conv0": "conv1/conv", "features.norm0": "conv1/bn", "features.norm5": "bn",
                      "classifier": "predictions"}


def torchvision_rule(prefix):
    """torchvision's DenseNet module names -> ours; the legacy names of its weight files
    (``norm.1`` for ``norm1``, which torchvision's own loader renames) too."""
    if prefix in _TORCHVISION_FIXED:
        return _TORCHVISION_FIXED[prefix]
    m = re.fullmatch(r"features\.denseblock(\d)\.denselayer(\d+)\.(norm|conv)\.?([12])", prefix)
    if m:
        return f"conv{int(m[1]) + 1}/block{m[2]}/{m[3]}{m[4]}"
    m = re.fullmatch(r"features\.transition(\d)\.(norm|conv)", prefix)
    if m:
        return f"pool{int(m[1]) + 1}/" + ("bn" if m[2] == "norm" else "conv")
    return None


def _torchvision(depth, file, top1, block_sizes, growth_rate=32, initial_features=64):
    def recognize(model):
        if type(model).__name__ != "DenseNet":
            return None
        features = model.features
        found = (features.conv0.out_channels, features.denseblock1.denselayer1.conv2.out_channels,
                 tuple(count_modules(getattr(features, f"denseblock{i}"), "_DenseLayer") for i in range(1, 5)))
        return {} if found == (initial_features, growth_rate, tuple(block_sizes)) else None

    return TorchvisionWeights(model=f"densenet{depth}", file=file, top1=top1, top1_source="torchvision's weights metadata",
                              rule=torchvision_rule, recognize=recognize)


#: The DenseNet paper, cited by its ImageNet and CIFAR networks.
PAPER = dict(
    paper="Huang, Liu, van der Maaten, Weinberger. Densely Connected Convolutional Networks. CVPR 2017",
    year=2016,
    url="https://arxiv.org/abs/1608.06993",
)


def _meta(depth, params, macs, weights=(), extra=""):
    return dict(
        **PAPER,
        default_size=DEFAULT_SIZES["imagenet"],
        min_size=min_size(BLOCK_SIZES[121]),
        params=params,
        macs=macs,
        depth=depth,
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
        weights=weights,
        recipe=RECIPE,
        space=SPACE,
        family_builder=DenseNet,
    )


@register_model(
    **_meta(121, 7_978_856, 2.834, [
        _keras_weights(121, ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"), 75.0),
        _torchvision(121, "densenet121-a639ec97.pth", 74.434, BLOCK_SIZES[121]),
    ]),
    paper_error=PaperError(25.02, 7.71, "1 crop", "Table 3"),
)
def densenet121(*, block_sizes=BLOCK_SIZES[121], name="densenet121", **kwargs):
    """DenseNet-121 (DenseNet-BC, k=32, blocks 6-12-24-16)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    paper_error=PaperError(22.862, 6.440, "1 crop", "torchvision's weights (not in the paper)"),
    **_meta(
        161,
        28_681_000,
        7.728,
        [_torchvision(161, "densenet161-8d451a50.pth", 77.138, BLOCK_SIZES_161, growth_rate=48, initial_features=96)],
        " DenseNet-161 is not in the paper's Table 1: the authors released it with their "
        "Torch models (k=48, 96 stem channels, blocks 6-12-36-24), and torchvision ships it "
        "(28,681,000 parameters, 7.728 GMACs).",
    ),
)
def densenet161(*, block_sizes=BLOCK_SIZES_161, growth_rate=48, initial_features=96, name="densenet161", **kwargs):
    """DenseNet-161 (DenseNet-BC, k=48, 96 stem channels, blocks 6-12-36-24)."""
    return DenseNet(block_sizes=block_sizes, growth_rate=growth_rate, initial_features=initial_features, name=name, **kwargs)


@register_model(
    **_meta(169, 14_149_480, 3.360, [
        _keras_weights(169, ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"), 76.2),
        _torchvision(169, "densenet169-b2777c0a.pth", 75.6, BLOCK_SIZES[169]),
    ]),
    paper_error=PaperError(23.80, 6.85, "1 crop", "Table 3"),
)
def densenet169(*, block_sizes=BLOCK_SIZES[169], name="densenet169", **kwargs):
    """DenseNet-169 (DenseNet-BC, k=32, blocks 6-12-32-32)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    **_meta(201, 20_013_928, 4.291, [
        _keras_weights(201, ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"), 77.3),
        _torchvision(201, "densenet201-c1103571.pth", 76.896, BLOCK_SIZES[201]),
    ]),
    paper_error=PaperError(22.58, 6.34, "1 crop", "Table 3"),
)
def densenet201(*, block_sizes=BLOCK_SIZES[201], name="densenet201", **kwargs):
    """DenseNet-201 (DenseNet-BC, k=32, blocks 6-12-48-32)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    paper_error=PaperError(22.15, 6.12, "1 crop", "Table 3"),
    **_meta(
        265,
        33_337_704,
        5.752,
        (),
        " DenseNet-264 is in neither torchvision nor keras.applications; timm's "
        "densenet264d is another network (k=48 and a deep 3x3 stem), so the counts here "
        "are computed from Table 1. The name is the paper's, although its 6-12-64-48 "
        "blocks, counted as for 121/169/201 (convolutions and classifier), make 265 layers.",
    )
)
def densenet264(*, block_sizes=BLOCK_SIZES[264], name="densenet264", **kwargs):
    """DenseNet-264 (DenseNet-BC, k=32, blocks 6-12-64-48)."""
    return DenseNet(block_sizes=block_sizes, name=name, **kwargs)


@register_model(
    **PAPER,
    default_size=DEFAULT_SIZES["cifar"],
    min_size=min_size(BLOCK_SIZES_BC_100, "cifar"),
    params=769_162,
    macs=0.288,
    depth=100,
    paper_error=PaperError(4.51, None, "test set", "Table 2 (C10+: with augmentation)", dataset="CIFAR-10"),
    preprocessing=CIFAR10_RGB,
    deviations=(
        "DenseNet-BC (L=100, k=12) for CIFAR as in Table 2: a 3x3 stem of 2k = 24 channels without batch norm, "
        "three dense blocks of 16 bottleneck layers, compression 0.5, no dropout (the paper's with augmentation)."
    ),
    feature_layers=("conv1", "conv2", "conv3", "conv4", "relu"),
    recipe=CIFAR_RECIPE,
    space=CIFAR_SPACE,
    family_builder=DenseNet,
)
def densenet_bc_100(*, block_sizes=BLOCK_SIZES_BC_100, growth_rate=12, initial_features=24, stem="cifar",
                    num_classes=10, name="densenet_bc_100", **kwargs):
    """DenseNet-BC-100 for CIFAR-10 (k=12, three blocks of 16 bottleneck layers, 0.8M parameters)."""
    return DenseNet(block_sizes=block_sizes, growth_rate=growth_rate, initial_features=initial_features, stem=stem,
                    num_classes=num_classes, name=name, **kwargs)
