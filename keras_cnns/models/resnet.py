"""ResNet (He et al., 2015) and ResNeXt (Xie et al., 2016).

A variant is its block type and the number of blocks per stage (``LAYERS``), plus the
cardinality and group width for ResNeXt. Blocks are named ``conv{stage}_block{i}``
after the paper's conv2_x ... conv5_x, the stem ``conv1`` and ``pool1``.
"""

import dataclasses
import re

from keras_cnns.layers import BasicBlock, BottleneckBlock, ConvBNAct, PaddedMaxPool2D
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import Choice, Recipe, Space
from keras_cnns.weights import IMAGENET_CAFFE, IMAGENET_RGB, KerasApplicationsWeights, TorchvisionWeights
from keras_cnns.weights.keras_applications import recognizer
from keras_cnns.weights.timm import TimmWeights

#: Blocks per stage, Table 1 of the ResNet paper.
LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
BLOCKS = {"basic": BasicBlock, "bottleneck": BottleneckBlock}
WIDTHS = (64, 128, 256, 512)
#: The default input and the smallest one (the total stride).
DEFAULT_SIZE, MIN_SIZE = 224, 32

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
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
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
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="avg"),
        **kwargs,
    )


#: He et al. 2015, section 3.4; ResNeXt trains the same way.
RECIPE = Recipe(
    optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, batch_size=256, epochs=90,
    schedule="plateau", schedule_args=dict(factor=0.1, patience=5), augment="resnet",
    source="He et al. 2015, section 3.4 (lr 0.1 divided by 10 when the error plateaus, weight decay 1e-4, momentum 0.9, batch 256, no dropout)",
    notes="ResNeXt (Xie et al. 2016, section 4) trains the same way, following fb.resnet.torch.",
)
RESNET_SPACE = Space(
    "resnet",
    (
        Choice("depth", (18, 34, 50, 101, 152), "layers: the registered resnetN", default=50),
        Choice("width", (32, 48, 64, 96), "first stage's channels, doubled at each stage (paper: 64)", default=64),
    ),
    lambda info, v: (f"resnet{v['depth']}", {} if v["width"] == 64 else dict(widths=[v["width"] * 2**i for i in range(4)])),
    "ResNet depth and width",
)
RESNEXT_SPACE = Space(
    "resnext",
    (
        Choice("depth", (50, 101), "layers: the registered resnextN_32x4d"),
        Choice("cardinality", (8, 16, 32, 64), "groups of the 3x3 convolutions", default=32),
        Choice("group_width", (4, 8), "channels of each group at the first stage (d)"),
    ),
    lambda info, v: (f"resnext{v['depth']}_32x4d", dict(groups=v["cardinality"], width_per_group=v["group_width"])),
    "ResNeXt depth, cardinality and group width",
)


# --- Weights ---------------------------------------------------------------------------

#: keras.applications layer names -> ours (its conv biases fold into the batch norms).
KERAS_RULES = (
    (r"conv1_(conv|bn)", r"conv1/\1"),
    (r"(conv\d_block\d+)_0_(conv|bn)", r"\1/shortcut/\2"),
    (r"(conv\d_block\d+)_([123])_(conv|bn)", r"\1/conv\2/\3"),
    (r"predictions", "predictions"),
)
_KERAS_MD5 = {
    50: ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    101: ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    152: ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
}
#: keras.applications' documented top-1 accuracy (keras.io/api/applications).
_KERAS_TOP1 = {50: 74.9, 101: 76.4, 152: 76.6}


def _keras_weights(depth):
    stem = f"resnet/resnet{depth}_weights_tf_dim_ordering_tf_kernels"
    return KerasApplicationsWeights(
        constructor=f"ResNet{depth}", files=(stem + ".h5", stem + "_notop.h5"), md5=_KERAS_MD5[depth],
        preprocessing=IMAGENET_CAFFE, rules=KERAS_RULES, top1=_KERAS_TOP1[depth],
        top1_source="keras.io/api/applications",
        # ResNet V2 (pre-activation) has the same stage names: its pre-activations tell it apart.
        recognize=recognizer(absent=("conv2_block1_preact_bn",), blocks=(r"conv(\d)_block(\d+)_out", LAYERS[depth])),
    )


def torchvision_rule(prefix):
    """torchvision's ResNet module names -> our layer paths (timm's ResNets share them)."""
    if prefix in ("conv1", "bn1"):
        return "conv1/" + ("conv" if prefix == "conv1" else "bn")
    if prefix == "fc":
        return "predictions"
    m = re.fullmatch(r"layer(\d)\.(\d+)\.(?:(conv|bn)(\d)|downsample\.([01]))", prefix)
    if m is None:
        return None
    block = f"conv{int(m[1]) + 1}_block{int(m[2]) + 1}"
    if m[5] is not None:
        return f"{block}/shortcut/" + ("conv" if m[5] == "0" else "bn")
    return f"{block}/conv{m[4]}/{m[3]}"


def _torchvision_recognizer(block, layers, groups=1, width=64):
    def recognize(model):
        if type(model).__name__ != "ResNet" or not type(model).__module__.startswith("torchvision."):
            return None
        found = (type(model.layer1[0]).__name__, tuple(len(getattr(model, f"layer{i}")) for i in range(1, 5)),
                 model.groups, model.base_width)
        return {} if found == (block, tuple(layers), groups, width) else None

    return recognize


def _torchvision(model, file, top1, resize=256, block="Bottleneck", groups=1, width=64, **options):
    depth = int(re.search(r"\d+", model).group())
    return TorchvisionWeights(
        model=model, file=file, resize=resize, top1=top1, top1_source="torchvision's weights metadata",
        rule=torchvision_rule, recognize=_torchvision_recognizer(block, LAYERS[depth], groups, width), options=options,
    )


def _timm_recognizer(block, layers, groups=1, width=64):
    """timm's ResNet (``timm.models.resnet.ResNet``) of this block, stage depths and
    ResNeXt groups and group width, in torchvision's layout: a 7x7 stem of 64 channels
    and a max pool, 1x1 projection shortcuts, ReLU, batch norm, no attention, no
    anti-aliasing, no dilation, average pooling (not its c/d/s stems or avg_down)."""

    def recognize(model):
        if (type(model).__module__, type(model).__name__) != ("timm.models.resnet", "ResNet"):
            return None
        blocks = [b for i in range(1, 5) for b in getattr(model, f"layer{i}")]
        conv = blocks[0].conv2
        found = (type(blocks[0]).__name__, tuple(len(getattr(model, f"layer{i}")) for i in range(1, 5)),
                 conv.groups, conv.out_channels // conv.groups if block == "Bottleneck" else 64)
        plain = (
            type(model.conv1).__name__ == "Conv2d" and tuple(model.conv1.kernel_size) == (7, 7)
            and model.conv1.out_channels == 64 and type(model.maxpool).__name__ == "MaxPool2d"
            and getattr(model.global_pool, "pool_type", None) == "avg"
            and all(b.se is None and type(b.aa).__name__ == "Identity" and type(b.act1).__name__ == "ReLU"
                    and type(b.bn1).__name__ == "BatchNorm2d" and b.dilation == 1
                    and (b.downsample is None or type(b.downsample[0]).__name__ == "Conv2d") for b in blocks)
        )
        return {} if plain and found == (block, tuple(layers), groups, width) else None

    return recognize


#: timm's licence of its ResNet weights (``get_pretrained_cfg(...).license``).
TIMM_LICENSE = "apache-2.0"


def _timm(model, tag, top1, crop_pct, block="Bottleneck", groups=1, width=64, **options):
    """timm's weights ``model.tag``: ``top1`` and ``crop_pct`` are its results CSV's row at
    224 (results/results-imagenet.csv); torchvision's keys and layout (v1.5)."""
    depth = int(re.search(r"\d+", model).group())
    return TimmWeights(
        model=model, pretrained_tag=tag, top1=top1, license=TIMM_LICENSE,
        top1_source=f"timm's results/results-imagenet.csv ({model}.{tag}, 224 px, crop_pct {crop_pct})",
        preprocessing=dataclasses.replace(IMAGENET_RGB, crop_pct=crop_pct, interpolation="bicubic"),
        rule=torchvision_rule, recognize=_timm_recognizer(block, LAYERS[depth], groups, width), options=options,
    )


def _stage_ends(layers):
    return tuple(f"conv{stage + 2}_block{count}" for stage, count in enumerate(layers))


#: The ResNet paper, cited by its ImageNet and CIFAR networks (``resnet_cifar``).
PAPER = dict(
    paper="He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016",
    year=2015,
    url="https://arxiv.org/abs/1512.03385",
)


def _resnet_meta(depth, params, macs, weights):
    return dict(
        **PAPER,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        params=params,
        macs=macs,
        depth=depth,
        deviations=(
            "ResNet v1 as in the paper: projection shortcuts (option B) on shape changes"
            + (", stride in the first 1x1 of the bottleneck; stride_in_3x3=True gives v1.5 "
               "(torchvision's and timm's), which adds multiply-adds but no parameters." if depth >= 50 else ".")
        ),
        feature_layers=("pool1", *_stage_ends(LAYERS[depth])),
        weights=weights,
        recipe=RECIPE,
        space=RESNET_SPACE,
        family_builder=ResNet,
    )


def _resnext_meta(depth, params, macs, weights=()):
    return dict(
        paper=(
            "Xie, Girshick, Dollar, Tu, He. Aggregated Residual Transformations for Deep "
            "Neural Networks. CVPR 2017"
        ),
        year=2016,
        url="https://arxiv.org/abs/1611.05431",
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        params=params,
        macs=macs,
        depth=depth,
        deviations="Stride in the grouped 3x3 convolution, as the authors' released code.",
        feature_layers=("pool1", *_stage_ends(LAYERS[depth])),
        weights=weights,
        recipe=RECIPE,
        space=RESNEXT_SPACE,
        family_builder=ResNet,
    )


#: torchvision's ResNet-50/101/152 are v1.5: the stride in the 3x3 convolution.
V1_5 = dict(stride_in_3x3=True)


@register_model(
    **_resnet_meta(18, 11_689_512, 1.814, [
        _timm("resnet18", "a1_in1k", 71.504, 0.95, block="BasicBlock"),
        _torchvision("resnet18", "resnet18-f37072fd.pth", 69.758, block="BasicBlock")]),
    paper_error=PaperError(27.88, None, "10 crops", "Table 2"),
)
def resnet18(*, layers=LAYERS[18], name="resnet18", **kwargs):
    """ResNet-18."""
    return ResNet(block="basic", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(34, 21_797_672, 3.664, [
        _timm("resnet34", "a1_in1k", 76.420, 0.95, block="BasicBlock"),
        _torchvision("resnet34", "resnet34-b627a593.pth", 73.314, block="BasicBlock")]),
    paper_error=PaperError(24.52, 7.46, "10 crops", "Table 3 (34 B)"),
)
def resnet34(*, layers=LAYERS[34], name="resnet34", **kwargs):
    """ResNet-34."""
    return ResNet(block="basic", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(50, 25_557_032, 3.858, [
        _keras_weights(50), _torchvision("resnet50", "resnet50-11ad3fa6.pth", 80.858, 232, **V1_5),
        _timm("resnet50", "a1h_in1k", 80.654, 1.0, **V1_5)]),
    paper_error=PaperError(22.85, 6.71, "10 crops", "Table 3"),
)
def resnet50(*, layers=LAYERS[50], name="resnet50", **kwargs):
    """ResNet-50 (v1; ``stride_in_3x3=True`` for v1.5)."""
    return ResNet(block="bottleneck", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(101, 44_549_160, 7.570, [
        _keras_weights(101), _torchvision("resnet101", "resnet101-cd907fc2.pth", 81.886, 232, **V1_5),
        _timm("resnet101", "a1h_in1k", 81.950, 0.95, **V1_5)]),
    paper_error=PaperError(21.75, 6.05, "10 crops", "Table 3"),
)
def resnet101(*, layers=LAYERS[101], name="resnet101", **kwargs):
    """ResNet-101 (v1; ``stride_in_3x3=True`` for v1.5)."""
    return ResNet(block="bottleneck", layers=layers, name=name, **kwargs)


@register_model(
    **_resnet_meta(152, 60_192_808, 11.282, [
        _keras_weights(152), _torchvision("resnet152", "resnet152-f82ba261.pth", 82.284, 232, **V1_5),
        _timm("resnet152", "a1h_in1k", 82.818, 0.95, **V1_5)]),
    paper_error=PaperError(21.43, 5.71, "10 crops", "Table 3"),
)
def resnet152(*, layers=LAYERS[152], name="resnet152", **kwargs):
    """ResNet-152 (v1; ``stride_in_3x3=True`` for v1.5)."""
    return ResNet(block="bottleneck", layers=layers, name=name, **kwargs)


@register_model(
    **_resnext_meta(50, 25_028_904, 4.230, [
        _torchvision("resnext50_32x4d", "resnext50_32x4d-1a0047aa.pth", 81.198, 232, groups=32, width=4)]),
    paper_error=PaperError(22.2, None, "1 crop", "Table 3"),
)
def resnext50_32x4d(*, layers=LAYERS[50], groups=32, width_per_group=4, stride_in_3x3=True, name="resnext50_32x4d", **kwargs):
    """ResNeXt-50, 32 groups of width 4."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )


@register_model(
    **_resnext_meta(101, 44_177_704, 7.970, [
        _timm("resnext101_32x4d", "gluon_in1k", 80.336, 0.875, groups=32, width=4, **V1_5)]),
    paper_error=PaperError(21.2, None, "1 crop", "Table 3"),
)
def resnext101_32x4d(*, layers=LAYERS[101], groups=32, width_per_group=4, stride_in_3x3=True, name="resnext101_32x4d", **kwargs):
    """ResNeXt-101, 32 groups of width 4."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )


@register_model(
    **_resnext_meta(101, 88_791_336, 16.414, [
        _torchvision("resnext101_32x8d", "resnext101_32x8d-110c445d.pth", 82.834, 232, groups=32, width=8)]),
)
def resnext101_32x8d(*, layers=LAYERS[101], groups=32, width_per_group=8, stride_in_3x3=True, name="resnext101_32x8d", **kwargs):
    """ResNeXt-101, 32 groups of width 8."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )


@register_model(
    **_resnext_meta(101, 83_455_272, 15.460, [
        _torchvision("resnext101_64x4d", "resnext101_64x4d-173b62eb.pth", 83.246, 232, groups=64, width=4)]),
    paper_error=PaperError(20.4, 5.3, "1 crop", "Table 4"),
)
def resnext101_64x4d(*, layers=LAYERS[101], groups=64, width_per_group=4, stride_in_3x3=True, name="resnext101_64x4d", **kwargs):
    """ResNeXt-101, 64 groups of width 4."""
    return ResNet(
        block="bottleneck", layers=layers, groups=groups, width_per_group=width_per_group,
        stride_in_3x3=stride_in_3x3, name=name, **kwargs
    )
