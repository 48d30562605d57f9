"""VGG (Simonyan and Zisserman, 2014): configurations A, B, D and E, with and without BN."""

from keras_cnns.layers import VGGStage
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import IMAGENET_CAFFE, IMAGENET_RGB, PaperError, register_model

WIDTHS = (64, 128, 256, 512, 512)
#: Convolutions per stage, Table 1 of the paper.
CONFIGS = {"A": (1, 1, 2, 2, 2), "B": (2, 2, 2, 2, 2), "D": (2, 2, 3, 3, 3), "E": (2, 2, 4, 4, 4)}

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
            input_tensor, input_shape, pooling, num_classes, classifier_activation),
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
        default_size=224,
        min_size=32,
        head=dict(pooling="flatten", flatten_size=flatten_size, hidden_units=tuple(fc_units), dropout=dropout),
        **kwargs,
    )


def _meta(params, macs, bn=False, preprocessing=IMAGENET_RGB):
    return dict(
        paper=(
            "Simonyan, Zisserman. Very Deep Convolutional Networks for Large-Scale Image "
            "Recognition. ICLR 2015"
        ),
        year=2014,
        url="https://arxiv.org/abs/1409.1556",
        default_size=224,
        min_size=32,
        params=params,
        macs=macs,
        preprocessing=preprocessing,
        deviations=(
            "Batch normalization after every convolution is not in the paper: it is "
            "torchvision's vgg*_bn layout, conv bias kept."
            if bn
            else ""
        ),
        feature_layers=("block1", "block2", "block3", "block4", "block5"),
    )


@register_model(
    **_meta(132_863_336, 7.609),
    depth=11,
    imagenet_error=PaperError(29.6, 10.4, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg11(*, name="vgg11", **kwargs):
    """VGG-11 (configuration A)."""
    return VGG(config="A", name=name, **kwargs)


@register_model(
    **_meta(133_047_848, 11.308),
    depth=13,
    imagenet_error=PaperError(28.7, 9.9, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg13(*, name="vgg13", **kwargs):
    """VGG-13 (configuration B)."""
    return VGG(config="B", name=name, **kwargs)


@register_model(
    **_meta(138_357_544, 15.470, preprocessing=IMAGENET_CAFFE), keras_application="VGG16",
    depth=16,
    imagenet_error=PaperError(27.0, 8.8, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg16(*, name="vgg16", **kwargs):
    """VGG-16 (configuration D)."""
    return VGG(config="D", name=name, **kwargs)


@register_model(
    **_meta(143_667_240, 19.632, preprocessing=IMAGENET_CAFFE), keras_application="VGG19",
    depth=19,
    imagenet_error=PaperError(27.3, 9.0, "dense, 1 scale (S=Q=256)", "Table 3"),
)
def vgg19(*, name="vgg19", **kwargs):
    """VGG-19 (configuration E)."""
    return VGG(config="E", name=name, **kwargs)


@register_model(
    **_meta(132_868_840, 7.609, bn=True),
    depth=11,
)
def vgg11_bn(*, name="vgg11_bn", **kwargs):
    """VGG-11 with batch normalization."""
    return VGG(config="A", norm="batch", name=name, **kwargs)


@register_model(
    **_meta(133_053_736, 11.308, bn=True),
    depth=13,
)
def vgg13_bn(*, name="vgg13_bn", **kwargs):
    """VGG-13 with batch normalization."""
    return VGG(config="B", norm="batch", name=name, **kwargs)


@register_model(
    **_meta(138_365_992, 15.470, bn=True),
    depth=16,
)
def vgg16_bn(*, name="vgg16_bn", **kwargs):
    """VGG-16 with batch normalization."""
    return VGG(config="D", norm="batch", name=name, **kwargs)


@register_model(
    **_meta(143_678_248, 19.632, bn=True),
    depth=19,
)
def vgg19_bn(*, name="vgg19_bn", **kwargs):
    """VGG-19 with batch normalization."""
    return VGG(config="E", norm="batch", name=name, **kwargs)
