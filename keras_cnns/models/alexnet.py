"""AlexNet (2012), its single-tower "one weird trick" layout, and ZFNet (2013).

Five convolutions with ReLU, local response normalization and overlapping 3x3/2 max
pooling, then the 4096-4096 fully connected head with dropout 0.5. A variant is a
tuple of ``Conv`` rows: ``then`` lists what follows the ReLU ("lrn", "pool") in order.
The registered variants take their table as ``convs=`` (and every ``AlexNet`` argument),
so ``alexnet(convs=...)`` is AlexNet with other convolutions, as a search builds it.
"""

import collections

from keras_cnns.layers import ConvBNAct, LocalResponseNormalization, PaddedMaxPool2D
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.registry import PaperError, register_model

Conv = collections.namedtuple("Conv", "filters kernel stride padding groups then")

ALEXNET_CONVS = (
    Conv(96, 11, 4, 0, 1, ("lrn", "pool")),
    Conv(256, 5, 1, 2, 2, ("lrn", "pool")),  # two towers: each sees its own half
    Conv(384, 3, 1, 1, 1, ()),  # the only convolution that crosses the towers
    Conv(384, 3, 1, 1, 2, ()),
    Conv(256, 3, 1, 1, 2, ("pool",)),
)
ALEXNET_OWT_CONVS = (
    Conv(64, 11, 4, 2, 1, ("pool",)),
    Conv(192, 5, 1, 2, 1, ("pool",)),
    Conv(384, 3, 1, 1, 1, ()),
    Conv(256, 3, 1, 1, 1, ()),
    Conv(256, 3, 1, 1, 1, ("pool",)),
)
ZFNET_CONVS = (
    Conv(96, 7, 2, 1, 1, ("pool", "lrn")),  # 224 -> 110 -> 55
    Conv(256, 5, 2, 0, 1, ("pool", "lrn")),  # 55 -> 26 -> 13
    Conv(384, 3, 1, 1, 1, ()),
    Conv(384, 3, 1, 1, 1, ()),
    Conv(256, 3, 1, 1, 1, ("pool",)),  # 13 -> 6
)

__all__ = ["AlexNet", "alexnet", "alexnet_owt", "zfnet"]


def _windows(convs, pool_size, pool_stride, ceil_mode):
    for conv in convs:
        yield conv.kernel, conv.stride, conv.padding, False
        if "pool" in conv.then:
            yield pool_size, pool_stride, 0, ceil_mode


def AlexNet(
    *,
    convs=ALEXNET_CONVS,
    fc_units=(4096, 4096),
    dropout=0.5,
    flatten_size=None,
    pool_size=3,
    pool_stride=2,
    ceil_mode=False,
    lrn_size=5,
    default_size=227,
    name="alexnet",
    **kwargs,
):
    """An AlexNet-style network from a table of convolutions.

    Args:
        convs: tuple of ``Conv(filters, kernel, stride, padding, groups, then)`` rows.
        fc_units: widths of the hidden fully connected layers. Defaults to (4096, 4096).
        dropout: dropout rate after each hidden layer. Defaults to 0.5.
        flatten_size: None, or a pair: the head first average-pools the last feature
            map adaptively to that size, as torchvision's AlexNet (6, 6), so that it
            takes any input size (``ClassifierHead``). Defaults to None: the head
            flattens the map as it is.
        pool_size, pool_stride: the max pooling window (3, 2: overlapping pooling).
        ceil_mode: round pooled sizes up, as Caffe. Defaults to False.
        lrn_size: channels in the response-normalization window. Defaults to 5.
        default_size: default input size. Defaults to 227.
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation),
            documented in ``keras_cnns.models._builder.build_model``.

    The minimum input size is computed from the table: the smallest input for which no
    feature map vanishes.
    """
    convs = tuple(Conv(*conv) for conv in convs)  # rows may come as lists (a JSON config)
    min_size = min_input_size(list(_windows(convs, pool_size, pool_stride, ceil_mode)))

    def features(x):
        for i, conv in enumerate(convs, start=1):
            x = ConvBNAct(
                conv.filters,
                conv.kernel,
                strides=conv.stride,
                padding=conv.padding,
                groups=conv.groups,
                use_bias=True,
                norm=None,
                name=f"conv{i}",
            )(x)
            for op in conv.then:
                if op == "lrn":
                    x = LocalResponseNormalization(size=lrn_size, name=f"lrn{i}")(x)
                elif op == "pool":
                    x = PaddedMaxPool2D(pool_size, pool_stride, ceil_mode=ceil_mode, name=f"pool{i}")(x)
                else:
                    raise ValueError(f"Expected 'lrn' or 'pool' in Conv.then. Received: then={conv.then!r}")
        return x

    return build_model(
        features,
        name=name,
        default_size=default_size,
        min_size=min_size,
        head=dict(pooling="flatten", flatten_size=flatten_size, hidden_units=tuple(fc_units), dropout=dropout),
        **kwargs,
    )


@register_model(
    depth=8,
    imagenet_error=PaperError(40.7, 18.2, "10 crops", "Table 2 (1 CNN)"),
    paper="Krizhevsky, Sutskever, Hinton. ImageNet Classification with Deep Convolutional Neural Networks. NIPS 2012",
    year=2012,
    url="https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks",
    default_size=227,
    min_size=67,
    params=60_965_224,
    macs=0.724,
    deviations=(
        "Input 227x227: the paper's 224 cannot give its 55x55 conv1 maps with an unpadded "
        "11x11/4 convolution. The two GPU towers are grouped convolutions (groups=2) in "
        "conv2, conv4 and conv5. He-normal initialization instead of N(0, 0.01)."
    ),
    feature_layers=("pool1", "pool2", "pool5"),
)
def alexnet(*, convs=ALEXNET_CONVS, name="alexnet", **kwargs):
    """AlexNet as in the 2012 paper: two towers, LRN, 96-256-384-384-256."""
    return AlexNet(convs=convs, default_size=227, name=name, **kwargs)


@register_model(
    depth=8,
    imagenet_error=PaperError(43.478, 20.934, "1 crop", "torchvision's weights (the paper reports no ImageNet error)"),
    paper="Krizhevsky. One weird trick for parallelizing convolutional neural networks. arXiv 2014",
    year=2014,
    url="https://arxiv.org/abs/1404.5997",
    default_size=224,
    min_size=63,
    params=61_100_840,
    macs=0.714,
    deviations=(
        "The single-tower 64-192-384-256-256 layout without LRN that torchvision ships "
        "(224 input, conv1 padded by 2). torchvision's adaptive 6x6 average pooling before "
        "the classifier, an identity at 224, is flatten_size=(6, 6) (what "
        "weights=\"torchvision\" builds); by default the head flattens the feature map."
    ),
    feature_layers=("pool1", "pool2", "pool5"),
)
def alexnet_owt(*, convs=ALEXNET_OWT_CONVS, name="alexnet_owt", **kwargs):
    """AlexNet, single-tower "one weird trick" layout (torchvision's alexnet)."""
    return AlexNet(convs=convs, default_size=224, name=name, **kwargs)


@register_model(
    depth=8,
    imagenet_error=PaperError(38.4, 16.5, "1 model", "Table 2"),
    paper="Zeiler, Fergus. Visualizing and Understanding Convolutional Networks. ECCV 2014",
    year=2013,
    url="https://arxiv.org/abs/1311.2901",
    default_size=224,
    min_size=47,
    params=62_357_608,
    macs=1.168,
    deviations=(
        "Contrast normalization is AlexNet's LRN. Pooling rounds up (Caffe's ceil mode) to "
        "give the paper's 110-55-26-13-13-6 maps. The paper's renormalization of filters "
        "whose RMS exceeds 0.1 is a training step, not part of the model."
    ),
    feature_layers=("pool1", "pool2", "pool5"),
)
def zfnet(*, convs=ZFNET_CONVS, ceil_mode=True, name="zfnet", **kwargs):
    """ZFNet (Fig. 3): 7x7/2 conv1, 5x5/2 conv2, ungrouped 384-384-256."""
    return AlexNet(convs=convs, ceil_mode=ceil_mode, default_size=224, name=name, **kwargs)
