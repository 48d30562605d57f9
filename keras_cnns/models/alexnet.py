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
from keras_cnns.models.spec import DROPOUT, Boolean, Choice, Recipe, Space, builder_defaults
from keras_cnns.weights import TorchvisionWeights
from keras_cnns.weights.caffe import CaffeWeights
from keras_cnns.weights.caffe import preprocessing as caffe_preprocessing

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
#: The paper's input (227: see alexnet's deviations) and that of the later layouts.
ALEXNET_SIZE, DEFAULT_SIZE = 227, 224
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


def _min_size(convs, pool_size=3, pool_stride=2, ceil_mode=False):
    """The smallest input for which no feature map of the table vanishes."""
    return min_input_size(list(_windows(tuple(Conv(*conv) for conv in convs), pool_size, pool_stride, ceil_mode)))


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
    lrn_alpha=1e-4,
    lrn_beta=0.75,
    lrn_k=2.0,
    default_size=ALEXNET_SIZE,
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
        lrn_alpha, lrn_beta, lrn_k: the response normalization's constants
            (``LocalResponseNormalization``: alpha multiplies the plain sum of squares).
            Defaults to the paper's 1e-4, 0.75 and 2.0. Caffe's (BVLC AlexNet) are
            alpha 1e-4 / 5 in this convention (Caffe divides its alpha, 1e-4, by the
            window size), beta 0.75 and k 1.
        default_size: default input size. Defaults to 227.
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    The minimum input size is computed from the table: the smallest input for which no
    feature map vanishes.
    """
    convs = tuple(Conv(*conv) for conv in convs)  # rows may come as lists (a JSON config)
    min_size = _min_size(convs, pool_size, pool_stride, ceil_mode)

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
                    lrn = dict(size=lrn_size, alpha=lrn_alpha, beta=lrn_beta, k=lrn_k)
                    x = LocalResponseNormalization(**lrn, name=f"lrn{i}")(x)
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


#: Krizhevsky et al. 2012, section 5; ZFNet and NIN train the same way.
RECIPE = Recipe(
    optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4, batch_size=128, epochs=90,
    schedule="plateau", schedule_args=dict(factor=0.1, patience=5), dropout=0.5, augment="alexnet",
    source="Krizhevsky et al. 2012, section 5 (lr divided by 10 when the validation error stopped improving, 3 times in 90 cycles)",
    notes="ZFNet (Zeiler and Fergus 2013, section 3) trains the same way: SGD, batch 128, lr 0.01 annealed by hand, momentum 0.9, dropout 0.5, 70 epochs.",
)


def _zfnet_search(info, v):
    """The ``zfnet`` space's knob values as the variant's table (``convs``) and head."""
    rows = []
    for i, row in enumerate(Conv(*row) for row in builder_defaults(info)["convs"]):
        groups = v["towers"] if i in (1, 3, 4) else 1  # AlexNet's towers: conv2, conv4, conv5
        filters = max(groups, round(row.filters * v["conv_width"] / groups) * groups)
        kernel, stride = (v["conv1_kernel"], v["conv1_stride"]) if i == 0 else (row.kernel, row.stride)
        stride = v["conv2_stride"] if i == 1 else stride
        then = [op for op in row.then if op != "lrn"]
        if v["lrn"] and i < 2:
            then = list(row.then) if "lrn" in row.then else ["lrn", *then]  # AlexNet: LRN, then pooling
        rows.append([filters, kernel, stride, row.padding, groups, then])
    return info.name, dict(convs=rows, pool_size=3 if v["pool_overlap"] else 2, fc_units=[v["fc_units"]] * 2)


#: Zeiler and Fergus found ZFNet by searching AlexNet's first layer, widths and towers.
SPACE = Space(
    "zfnet",
    (
        Choice("conv1_kernel", (11, 9, 7), "first convolution's kernel size"),
        Choice("conv1_stride", (4, 2), "first convolution's stride"),
        Choice("conv2_stride", (1, 2), "second convolution's stride (ZFNet: 2)"),
        Choice("conv_width", (0.5, 0.75, 1.0), "multiplier of the convolution widths", default=1.0),
        Choice("towers", (1, 2), "grouped convolutions in conv2, conv4, conv5 (AlexNet's two GPUs: 2)", default=2),
        Boolean("lrn", "local response normalization after conv1 and conv2", default=True),
        Boolean("pool_overlap", "overlapping 3x3/2 max pooling, or 2x2/2", default=True),
        Choice("fc_units", (1024, 2048, 4096), "width of the two fully connected layers", default=4096),
        DROPOUT,
    ),
    _zfnet_search,
    "AlexNet's first layer, widths, towers, LRN, pooling and head, as ZFNet was found",
)

#: torchvision's alexnet module names -> ours.
_TORCHVISION_NAMES = {
    "features.0": "conv1/conv",
    "features.3": "conv2/conv",
    "features.6": "conv3/conv",
    "features.8": "conv4/conv",
    "features.10": "conv5/conv",
    "classifier.1": "head/fc1",
    "classifier.4": "head/fc2",
    "classifier.6": "predictions",
}
TORCHVISION = TorchvisionWeights(
    model="alexnet", file="alexnet-owt-7be5be79.pth", top1=56.522, top1_source="torchvision's weights metadata",
    rule=_TORCHVISION_NAMES.get, recognize=lambda model: {} if type(model).__name__ == "AlexNet" else None,
    # torchvision pools the last map adaptively to 6x6 (the identity at 224), so any input size works.
    defaults={"flatten_size": (6, 6)}, top_size=DEFAULT_SIZE, top_size_free_with="flatten_size",
)

#: BVLC AlexNet (Caffe Model Zoo, models/bvlc_alexnet): Caffe layer names -> ours.
_BVLC_NAMES = {
    **{f"conv{i}": f"conv{i}/conv" for i in range(1, 6)},
    "fc6": "head/fc1",
    "fc7": "head/fc2",
    "fc8": "predictions",
}
#: Its readme: file, URL, sha1, license, top-1 (center crop); deploy.prototxt: LRN
#: local_size 5, alpha 1e-4 (divided by the size in Caffe), beta 0.75, k 1; pooling
#: rounds up (Caffe's), the same sizes as ours at 227. Not CaffeNet (pool before norm).
BVLC = CaffeWeights(
    file="bvlc_alexnet.caffemodel", url="http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel",
    checksum="sha1:9116a64c0fbe4459d18f4bb6b56d647b63920377", rule=_BVLC_NAMES.get, classifier="fc8",
    top1=57.1, top1_source="BVLC model zoo readme (models/bvlc_alexnet)", license="unrestricted",
    source="BVLC AlexNet, Caffe Model Zoo (models/bvlc_alexnet)",
    # Trained on 227 crops of 256 images minus the ILSVRC-2012 mean image (mean_file).
    preprocessing=caffe_preprocessing(ALEXNET_SIZE),
    options={"lrn_size": 5, "lrn_alpha": 1e-4 / 5, "lrn_beta": 0.75, "lrn_k": 1.0, "ceil_mode": True},
    top_size=ALEXNET_SIZE,
)

_FAMILY = dict(depth=8, recipe=RECIPE, space=SPACE, family_builder=AlexNet, feature_layers=("pool1", "pool2", "pool5"))


@register_model(
    **_FAMILY,
    paper_error=PaperError(40.7, 18.2, "10 crops", "Table 2 (1 CNN)"),
    paper="Krizhevsky, Sutskever, Hinton. ImageNet Classification with Deep Convolutional Neural Networks. NIPS 2012",
    year=2012,
    url="https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks",
    default_size=ALEXNET_SIZE,
    min_size=_min_size(ALEXNET_CONVS),
    params=60_965_224,
    macs=0.724,
    weights=[BVLC],
    deviations=(
        "Input 227x227: the paper's 224 cannot give its 55x55 conv1 maps with an unpadded "
        "11x11/4 convolution. The two GPU towers are grouped convolutions (groups=2) in "
        "conv2, conv4 and conv5. He-normal initialization instead of N(0, 0.01). "
        "weights=\"bvlc\" loads BVLC's Caffe replication, which builds it with Caffe's "
        "LRN constants (lrn_alpha=2e-5, lrn_k=1.0 where the paper has 1e-4 and 2) and "
        "ceil-mode pooling (the same sizes at 227)."
    ),
)
def alexnet(*, convs=ALEXNET_CONVS, default_size=ALEXNET_SIZE, name="alexnet", **kwargs):
    """AlexNet as in the 2012 paper: two towers, LRN, 96-256-384-384-256."""
    return AlexNet(convs=convs, default_size=default_size, name=name, **kwargs)


@register_model(
    **_FAMILY,
    paper_error=PaperError(43.478, 20.934, "1 crop", "torchvision's weights (the paper reports no ImageNet error)"),
    paper="Krizhevsky. One weird trick for parallelizing convolutional neural networks. arXiv 2014",
    year=2014,
    url="https://arxiv.org/abs/1404.5997",
    default_size=DEFAULT_SIZE,
    min_size=_min_size(ALEXNET_OWT_CONVS),
    params=61_100_840,
    macs=0.714,
    weights=[TORCHVISION],
    deviations=(
        "The single-tower 64-192-384-256-256 layout without LRN that torchvision ships "
        "(224 input, conv1 padded by 2). torchvision's adaptive 6x6 average pooling before "
        "the classifier, an identity at 224, is flatten_size=(6, 6) (what "
        "weights=\"torchvision\" builds); by default the head flattens the feature map."
    ),
)
def alexnet_owt(*, convs=ALEXNET_OWT_CONVS, default_size=DEFAULT_SIZE, name="alexnet_owt", **kwargs):
    """AlexNet, single-tower "one weird trick" layout (torchvision's alexnet)."""
    return AlexNet(convs=convs, default_size=default_size, name=name, **kwargs)


@register_model(
    **_FAMILY,
    paper_error=PaperError(38.4, 16.5, "1 model", "Table 2"),
    paper="Zeiler, Fergus. Visualizing and Understanding Convolutional Networks. ECCV 2014",
    year=2013,
    url="https://arxiv.org/abs/1311.2901",
    default_size=DEFAULT_SIZE,
    min_size=_min_size(ZFNET_CONVS, ceil_mode=True),
    params=62_357_608,
    macs=1.168,
    deviations=(
        "Contrast normalization is AlexNet's LRN. Pooling rounds up (Caffe's ceil mode) to "
        "give the paper's 110-55-26-13-13-6 maps. The paper's renormalization of filters "
        "whose RMS exceeds 0.1 is a training step, not part of the model."
    ),
)
def zfnet(*, convs=ZFNET_CONVS, ceil_mode=True, default_size=DEFAULT_SIZE, name="zfnet", **kwargs):
    """ZFNet (Fig. 3): 7x7/2 conv1, 5x5/2 conv2, ungrouped 384-384-256."""
    return AlexNet(convs=convs, ceil_mode=ceil_mode, default_size=default_size, name=name, **kwargs)
