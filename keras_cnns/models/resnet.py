"""ResNet (He et al., 2015) and ResNeXt (Xie et al., 2016).

A variant is its block type and the number of blocks per stage (``LAYERS``), plus the
cardinality and group width for ResNeXt. Blocks are named ``conv{stage}_block{i}``
after the paper's conv2_x ... conv5_x, the stem ``conv1`` and ``pool1``.
"""

from keras_cnns.layers import BasicBlock, BottleneckBlock, ConvBNAct, PaddedMaxPool2D
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import IMAGENET_CAFFE, IMAGENET_RGB, PaperError, register_model

#: Blocks per stage, Table 1 of the ResNet paper.
LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
BLOCKS = {"basic": BasicBlock, "bottleneck": BottleneckBlock}
WIDTHS = (64, 128, 256, 512)

__all__ = ["ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x4d", "resnext101_32x8d", "resnext101_64x4d"]


def ResNet(
    *,
    block,
    layers,
    groups=1,
    width_per_group=64,
    stride_in_3x3=False,
    widths=WIDTHS,
    norm="batch",
    name="resnet",
    **kwargs,
):
    """A ResNet or ResNeXt: 7x7/2 stem, 3x3/2 max pool, four stages, global pooling.

    Args:
        block: "basic" or "bottleneck".
        layers: four ints, the number of blocks in each stage.
        groups: cardinality of the bottleneck 3x3 convolution (ResNeXt). Defaults to 1.
        width_per_group: channels per group at the first stage (ResNeXt's "d";
            64 for ResNet). The 3x3 width is ``filters * width_per_group / 64 * groups``.
        stride_in_3x3: put a bottleneck's stride in its 3x3 convolution (ResNet v1.5,
            ResNeXt) rather than the first 1x1 (the ResNet paper). Defaults to False.
        widths: four ints, the base width of each stage (the output channels of a basic
            block, a quarter of a bottleneck's); the stem has ``widths[0]`` channels.
            Defaults to (64, 128, 256, 512), Table 1.
        norm: "batch" or "sync_batch". Defaults to "batch".
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation),
            documented in ``keras_cnns.models._builder.build_model``.
    """
    if block not in BLOCKS:
        raise ValueError(f"Expected `block` to be one of {list(BLOCKS)}. Received: block={block!r}")
    layers = tuple(layers)
    if len(layers) != 4 or not all(isinstance(n, int) and n > 0 for n in layers):
        raise ValueError(f"Expected `layers` to be four positive ints. Received: layers={layers!r}")
    widths = tuple(widths)
    if len(widths) != 4 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in widths):
        raise ValueError(f"Expected `widths` to be four positive ints. Received: widths={widths!r}")
    if block == "basic" and (groups != 1 or width_per_group != 64):
        raise ValueError(
            "Basic blocks support only groups=1 and width_per_group=64. "
            f"Received: groups={groups}, width_per_group={width_per_group}"
        )

    def features(x):
        x = ConvBNAct(widths[0], 7, strides=2, padding=3, norm=norm, name="conv1")(x)
        x = PaddedMaxPool2D(3, 2, padding=1, name="pool1")(x)
        for stage, (filters, count) in enumerate(zip(widths, layers)):
            for i in range(count):
                options = dict(strides=2 if stage > 0 and i == 0 else 1, norm=norm)
                if block == "bottleneck":
                    width = filters * width_per_group // 64 * groups
                    options.update(groups=groups, width=None if width == filters else width, stride_in_3x3=stride_in_3x3)
                x = BLOCKS[block](filters, name=f"conv{stage + 2}_block{i + 1}", **options)(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=224,
        min_size=32,
        head=dict(pooling="avg"),
        **kwargs,
    )


def _stage_ends(layers):
    return tuple(f"conv{stage + 2}_block{count}" for stage, count in enumerate(layers))


def _resnet_meta(depth, params, macs, preprocessing=IMAGENET_RGB):
    return dict(
        paper="He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016",
        year=2015,
        url="https://arxiv.org/abs/1512.03385",
        default_size=224,
        min_size=32,
        params=params,
        macs=macs,
        preprocessing=preprocessing,
        deviations=(
            "ResNet v1 as in the paper: projection shortcuts (option B) on shape changes"
            + (", stride in the first 1x1 of the bottleneck; stride_in_3x3=True gives v1.5 "
               "(torchvision), which adds multiply-adds but no parameters." if depth >= 50 else ".")
        ),
        feature_layers=("pool1", *_stage_ends(LAYERS[depth])),
    )


def _resnext_meta(depth, params, macs):
    return dict(
        paper=(
            "Xie, Girshick, Dollar, Tu, He. Aggregated Residual Transformations for Deep "
            "Neural Networks. CVPR 2017"
        ),
        year=2016,
        url="https://arxiv.org/abs/1611.05431",
        default_size=224,
        min_size=32,
        params=params,
        macs=macs,
        deviations="Stride in the grouped 3x3 convolution, as the authors' released code.",
        feature_layers=("pool1", *_stage_ends(LAYERS[depth])),
    )


@register_model(
    **_resnet_meta(18, 11_689_512, 1.814),
    depth=18,
    imagenet_error=PaperError(27.88, None, "10 crops", "Table 2"),
)
def resnet18(*, layers=LAYERS[18], name="resnet18", **kwargs):
    """ResNet-18."""
    return ResNet(block="basic", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(34, 21_797_672, 3.664),
    depth=34,
    imagenet_error=PaperError(24.52, 7.46, "10 crops", "Table 3 (34 B)"),
)
def resnet34(*, layers=LAYERS[34], name="resnet34", **kwargs):
    """ResNet-34."""
    return ResNet(block="basic", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(50, 25_557_032, 3.858, IMAGENET_CAFFE), keras_application="ResNet50",
    depth=50,
    imagenet_error=PaperError(22.85, 6.71, "10 crops", "Table 3"),
)
def resnet50(*, layers=LAYERS[50], name="resnet50", **kwargs):
    """ResNet-50 (v1; ``stride_in_3x3=True`` for v1.5)."""
    return ResNet(block="bottleneck", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(101, 44_549_160, 7.570, IMAGENET_CAFFE), keras_application="ResNet101",
    depth=101,
    imagenet_error=PaperError(21.75, 6.05, "10 crops", "Table 3"),
)
def resnet101(*, layers=LAYERS[101], name="resnet101", **kwargs):
    """ResNet-101 (v1; ``stride_in_3x3=True`` for v1.5)."""
    return ResNet(block="bottleneck", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(152, 60_192_808, 11.282, IMAGENET_CAFFE), keras_application="ResNet152",
    depth=152,
    imagenet_error=PaperError(21.43, 5.71, "10 crops", "Table 3"),
)
def resnet152(*, layers=LAYERS[152], name="resnet152", **kwargs):
    """ResNet-152 (v1; ``stride_in_3x3=True`` for v1.5)."""
    return ResNet(block="bottleneck", layers=layers, name=name, **kwargs)


@register_model(
    **_resnext_meta(50, 25_028_904, 4.230),
    depth=50,
    imagenet_error=PaperError(22.2, None, "1 crop", "Table 3"),
)
def resnext50_32x4d(*, layers=LAYERS[50], groups=32, width_per_group=4, stride_in_3x3=True, name="resnext50_32x4d", **kwargs):
    """ResNeXt-50, 32 groups of width 4."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )


@register_model(
    **_resnext_meta(101, 44_177_704, 7.970),
    depth=101,
    imagenet_error=PaperError(21.2, None, "1 crop", "Table 3"),
)
def resnext101_32x4d(*, layers=LAYERS[101], groups=32, width_per_group=4, stride_in_3x3=True, name="resnext101_32x4d", **kwargs):
    """ResNeXt-101, 32 groups of width 4."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )


@register_model(
    **_resnext_meta(101, 88_791_336, 16.414),
    depth=101,
)
def resnext101_32x8d(*, layers=LAYERS[101], groups=32, width_per_group=8, stride_in_3x3=True, name="resnext101_32x8d", **kwargs):
    """ResNeXt-101, 32 groups of width 8."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )


@register_model(
    **_resnext_meta(101, 83_455_272, 15.460),
    depth=101,
    imagenet_error=PaperError(20.4, 5.3, "1 crop", "Table 4"),
)
def resnext101_64x4d(*, layers=LAYERS[101], groups=64, width_per_group=4, stride_in_3x3=True, name="resnext101_64x4d", **kwargs):
    """ResNeXt-101, 64 groups of width 4."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )
