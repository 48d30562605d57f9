"""VGG (Simonyan and Zisserman, 2014): configurations A, B, D and E, with and without BN."""

from keras_cnns.layers import VGGStage
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import DROPOUT, Boolean, Choice, Recipe, Space
from keras_cnns.weights import IMAGENET_CAFFE, KerasApplicationsWeights, TorchvisionWeights
from keras_cnns.weights.keras_applications import recognizer
from keras_cnns.weights.torchvision import count_modules

WIDTHS = (64, 128, 256, 512, 512)
#: Convolutions per stage, Table 1 of the paper.
CONFIGS = {"A": (1, 1, 2, 2, 2), "B": (2, 2, 2, 2, 2), "D": (2, 2, 3, 3, 3), "E": (2, 2, 4, 4, 4)}
#: The configuration of each depth.
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}
#: The default input and the smallest one (the total stride).
DEFAULT_SIZE, MIN_SIZE = 224, 32

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


def VGG(
    *,
    config,
    norm=None,
    fc_units=(4096, 4096),
    dropout=0.5,
    flatten_size=None,
    name="vgg",
    **kwargs,
):
    """A VGG network: five ``VGGStage`` blocks, named ``block1`` ... ``block5``.

    Args:
        config: "A", "B", "D" or "E" (VGG-11, 13, 16, 19), or a tuple of five
            convolution counts.
        norm: None, or "batch" / "sync_batch" for batch norm after every convolution
            (conv bias kept, as torchvision's vgg*_bn).
        fc_units: widths of the hidden fully connected layers. Defaults to (4096, 4096).
        dropout: dropout rate after each hidden layer. Defaults to 0.5.
        flatten_size: None, or a pair: the head first average-pools the last feature
            map adaptively to that size, as torchvision's VGG (7, 7), so that it takes
            any input size (``ClassifierHead``). Defaults to None: the head flattens the
            map as it is (the paper's network at 224).
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.
    """
    counts = CONFIGS[config] if isinstance(config, str) and config in CONFIGS else tuple(config)
    if len(counts) != 5:
        raise ValueError(
            f"Expected `config` to be one of {list(CONFIGS)} or five convolution counts. Received: config={config!r}"
        )

    def features(x):
        for i, (filters, num_convs) in enumerate(zip(WIDTHS, counts), start=1):
            x = VGGStage(filters, num_convs, norm=norm, name=f"block{i}")(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="flatten", flatten_size=flatten_size, hidden_units=tuple(fc_units), dropout=dropout),
        **kwargs,
    )


#: Simonyan and Zisserman 2014, section 3.1.
RECIPE = Recipe(
    optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4, batch_size=256, epochs=74,
    schedule="plateau", schedule_args=dict(factor=0.1, patience=5), dropout=0.5, augment="vgg",
    source="Simonyan and Zisserman 2014, section 3.1 (lr decreased by 10 three times, 74 epochs)",
)
SPACE = Space(
    "vgg",
    (
        Choice("depth", tuple(DEPTHS), "weight layers: configuration A, B, D or E", default=16),
        Boolean("batch_norm", "batch normalization after each convolution"),
        Choice("fc_units", (1024, 2048, 4096), "width of the two fully connected layers", default=4096),
        DROPOUT,
    ),
    lambda info, v: (f"vgg{v['depth']}" + ("_bn" if v["batch_norm"] else ""),
                     {} if v["fc_units"] == 4096 else dict(fc_units=[v["fc_units"]] * 2)),
    "VGG depth, batch norm, head width and dropout",
)


# --- Weights ---------------------------------------------------------------------------

KERAS_RULES = (
    (r"block(\d)_conv(\d)", r"block\1/conv\2/conv"),
    (r"fc([12])", r"head/fc\1"),
    (r"predictions", "predictions"),
)


def _keras_weights(depth, md5, top1):
    stem = f"vgg{depth}/vgg{depth}_weights_tf_dim_ordering_tf_kernels"
    return KerasApplicationsWeights(
        constructor=f"VGG{depth}", files=(stem + ".h5", stem + "_notop.h5"), md5=md5, preprocessing=IMAGENET_CAFFE,
        rules=KERAS_RULES, top1=top1, top1_source="keras.io/api/applications",
        recognize=recognizer(required=("block1_conv1",), count=(r"block\d_conv\d", sum(CONFIGS[DEPTHS[depth]]))),
        top_size=DEFAULT_SIZE,  # its classifier flattens the 7x7 map of a 224 input
    )


def _torchvision_table(counts, bn):
    """torchvision's ``features.i`` indices: conv, (BN), ReLU per convolution, a max
    pooling after each stage; then its classifier."""
    table, i = {}, 0
    for block, convs in enumerate(counts, start=1):
        for conv in range(1, convs + 1):
            table[f"features.{i}"] = f"block{block}/conv{conv}/conv"
            if bn:
                table[f"features.{i + 1}"] = f"block{block}/conv{conv}/bn"
            i += 3 if bn else 2
        i += 1
    return {**table, "classifier.0": "head/fc1", "classifier.3": "head/fc2", "classifier.6": "predictions"}


def _torchvision(depth, bn, file, top1):
    counts = CONFIGS[DEPTHS[depth]]

    def recognize(model):
        if type(model).__name__ != "VGG" or count_modules(model.features, "Conv2d") != sum(counts):
            return None
        return {} if bool(count_modules(model.features, "BatchNorm2d")) == bn else None

    return TorchvisionWeights(
        model=f"vgg{depth}" + ("_bn" if bn else ""), file=file, top1=top1, top1_source="torchvision's weights metadata",
        rule=_torchvision_table(counts, bn).get, recognize=recognize,
        # torchvision pools the last map adaptively to 7x7 (the identity at 224), so any input size works.
        defaults={"flatten_size": (7, 7)}, top_size=DEFAULT_SIZE, top_size_free_with="flatten_size",
    )


def _meta(depth, params, macs, weights, bn=False):
    return dict(
        paper=(
            "Simonyan, Zisserman. Very Deep Convolutional Networks for Large-Scale Image "
            "Recognition. ICLR 2015"
        ),
        year=2014,
        url="https://arxiv.org/abs/1409.1556",
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        params=params,
        macs=macs,
        depth=depth,
        deviations=(
            "Batch normalization after every convolution is not in the paper: it is "
            "torchvision's vgg*_bn layout, conv bias kept."
            if bn
            else ""
        ),
        feature_layers=("block1", "block2", "block3", "block4", "block5"),
        weights=weights,
        recipe=RECIPE,
        space=SPACE,
        family_builder=VGG,
    )


@register_model(
    **_meta(11, 132_863_336, 7.609, [_torchvision(11, False, "vgg11-8a719046.pth", 69.02)]),
    paper_error=PaperError(29.6, 10.4, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg11(*, name="vgg11", **kwargs):
    """VGG-11 (configuration A)."""
    return VGG(config="A", name=name, **kwargs)


@register_model(
    **_meta(13, 133_047_848, 11.308, [_torchvision(13, False, "vgg13-19584684.pth", 69.928)]),
    paper_error=PaperError(28.7, 9.9, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg13(*, name="vgg13", **kwargs):
    """VGG-13 (configuration B)."""
    return VGG(config="B", name=name, **kwargs)


@register_model(
    **_meta(16, 138_357_544, 15.470, [
        _keras_weights(16, ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"), 71.3),
        _torchvision(16, False, "vgg16-397923af.pth", 71.592),
    ]),
    paper_error=PaperError(27.0, 8.8, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg16(*, name="vgg16", **kwargs):
    """VGG-16 (configuration D)."""
    return VGG(config="D", name=name, **kwargs)


@register_model(
    **_meta(19, 143_667_240, 19.632, [
        _keras_weights(19, ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"), 71.3),
        _torchvision(19, False, "vgg19-dcbb9e9d.pth", 72.376),
    ]),
    paper_error=PaperError(27.3, 9.0, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg19(*, name="vgg19", **kwargs):
    """VGG-19 (configuration E)."""
    return VGG(config="E", name=name, **kwargs)


@register_model(**_meta(11, 132_868_840, 7.609, [_torchvision(11, True, "vgg11_bn-6002323d.pth", 70.37)], bn=True))
def vgg11_bn(*, name="vgg11_bn", **kwargs):
    """VGG-11 with batch normalization."""
    return VGG(config="A", name=name, **{"norm": "batch", **kwargs})


@register_model(**_meta(13, 133_053_736, 11.308, [_torchvision(13, True, "vgg13_bn-abd245e5.pth", 71.586)], bn=True))
def vgg13_bn(*, name="vgg13_bn", **kwargs):
    """VGG-13 with batch normalization."""
    return VGG(config="B", name=name, **{"norm": "batch", **kwargs})


@register_model(**_meta(16, 138_365_992, 15.470, [_torchvision(16, True, "vgg16_bn-6c64b313.pth", 73.36)], bn=True))
def vgg16_bn(*, name="vgg16_bn", **kwargs):
    """VGG-16 with batch normalization."""
    return VGG(config="D", name=name, **{"norm": "batch", **kwargs})


@register_model(**_meta(19, 143_678_248, 19.632, [_torchvision(19, True, "vgg19_bn-c79401a0.pth", 74.218)], bn=True))
def vgg19_bn(*, name="vgg19_bn", **kwargs):
    """VGG-19 with batch normalization."""
    return VGG(config="E", name=name, **{"norm": "batch", **kwargs})
