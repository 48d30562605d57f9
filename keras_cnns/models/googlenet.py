"""GoogLeNet (Inception v1, Szegedy et al., 2014) and BN-Inception (Ioffe and Szegedy, 2015).

Both networks share the stem (7x7/2 convolution, 3x3/2 max pooling, 1x1 and 3x3
convolutions, 3x3/2 max pooling) and a stack of Inception modules on 28x28, 14x14 and
7x7 grids, ended by global average pooling and one fully connected layer. A variant is
its module table: rows ``Module(name, widths, pool, strides)``, with the six widths in
the column order of GoogLeNet's Table 1 / BN-Inception's Figure 5, and the names
``"pool3"``, ``"pool4"`` for GoogLeNet's 3x3/2 max pooling between the grids, or
``Pool(name, size)`` rows for another window (BN-Inception reduces the grid with
stride-2 modules instead).

Layers: (``transform_input``), stem ``conv1``, ``pool1``, (``lrn1``), ``conv2_reduce``, ``conv2``, (``lrn2``),
``pool2``; modules ``inception_3a`` ... ``inception_5b``; head ``head``; GoogLeNet's
auxiliary classifiers ``aux1`` (on ``inception_4a``) and ``aux2`` (on ``inception_4d``).
"""

import collections
import re

import keras

from keras_cnns.layers import (
    BNInceptionModule,
    ConvBNAct,
    InceptionAux,
    InceptionModule,
    LocalResponseNormalization,
    PaddedMaxPool2D,
)
from keras_cnns.layers._base import channel_axis, scaled_width, spatial
from keras_cnns.layers._base import width_multiplier as width_multiplier_arg
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import DROPOUT, Choice, Recipe, Space, same_name_arguments
from keras_cnns.weights import SKIP, TorchvisionWeights
from keras_cnns.weights.base import HEAD_LAYERS
from keras_cnns.weights.cadene import CadeneWeights
from keras_cnns.weights.caffe import CaffeWeights
from keras_cnns.weights.caffe import preprocessing as caffe_preprocessing

#: One Inception module: name, the six widths, pooling branch type, stride.
Module = collections.namedtuple("Module", "name widths pool strides", defaults=("max", 1))
#: A max pooling between grids: name and window (stride 2, rounding up). A plain name
#: in a module table is ``Pool(name, 3)``.
Pool = collections.namedtuple("Pool", "name size", defaults=(3,))

#: Szegedy et al., Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
GOOGLENET_MODULES = (
    Module("inception_3a", (64, 96, 128, 16, 32, 32)),
    Module("inception_3b", (128, 128, 192, 32, 96, 64)),
    "pool3",
    Module("inception_4a", (192, 96, 208, 16, 48, 64)),
    Module("inception_4b", (160, 112, 224, 24, 64, 64)),
    Module("inception_4c", (128, 128, 256, 24, 64, 64)),
    Module("inception_4d", (112, 144, 288, 32, 64, 64)),
    Module("inception_4e", (256, 160, 320, 32, 128, 128)),
    "pool4",
    Module("inception_5a", (256, 160, 320, 32, 128, 128)),
    Module("inception_5b", (384, 192, 384, 48, 128, 128)),
)
#: torchvision's (and TF-slim's) GoogLeNet: Table 1, with a 2x2/2 pool4 (TF-slim's
#: MaxPool_5a_2x2; the same 14 -> 7 at 224).
GOOGLENET_BN_MODULES = tuple(Pool("pool4", 2) if row == "pool4" else row for row in GOOGLENET_MODULES)

#: Ioffe and Szegedy, Figure 5 (as the Caffe port): #1x1, #3x3 reduce, #3x3,
#: double #3x3 reduce, double #3x3, pool proj; 0 marks the reductions' missing branches.
BN_INCEPTION_MODULES = (
    Module("inception_3a", (64, 64, 64, 64, 96, 32), "avg"),
    Module("inception_3b", (64, 64, 96, 64, 96, 64), "avg"),
    Module("inception_3c", (0, 128, 160, 64, 96, 0), "max", 2),
    Module("inception_4a", (224, 64, 96, 96, 128, 128), "avg"),
    Module("inception_4b", (192, 96, 128, 96, 128, 128), "avg"),
    Module("inception_4c", (160, 128, 160, 128, 160, 128), "avg"),
    Module("inception_4d", (96, 128, 192, 160, 192, 128), "avg"),
    Module("inception_4e", (0, 128, 192, 192, 256, 0), "max", 2),
    Module("inception_5a", (352, 192, 320, 160, 224, 128), "avg"),
    Module("inception_5b", (352, 192, 320, 192, 224, 128), "max"),
)

BLOCKS = {"inception": InceptionModule, "bn_inception": BNInceptionModule}
AUX_POOL = (5, 3, 0, False)  # the auxiliary classifiers' 5x5/3 unpadded average pooling

#: torchvision's ``transform_input``: its GoogLeNet weights (TF-slim's) expect [-1, 1]
#: inputs, and this per-channel affine map takes torchvision's ImageNet-normalized
#: images there: ``x * std / 0.5 + (mean - 0.5) / 0.5``.
TRANSFORM_INPUT = dict(
    scale=[0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5],
    offset=[(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5],
)

__all__ = ["GoogLeNet", "bn_inception", "googlenet", "googlenet_bn"]


def _windows(modules, until=None):
    """The strided windows of the network, up to and including the module ``until``."""
    yield 7, 2, 3, False  # conv1
    yield 3, 2, 0, True  # pool1
    yield 3, 2, 0, True  # pool2 (conv2_reduce and conv2 keep the size)
    for row in modules:
        if isinstance(row, Pool):
            yield row.size, 2, 0, True
        elif row.strides == 2:
            yield 3, 2, 1, False
        if isinstance(row, Module) and row.name == until:
            return


def _row(row):
    """A module-table row as a ``Module`` or a ``Pool`` (plain names and lists accepted)."""
    if isinstance(row, str):
        return Pool(row)
    if isinstance(row, (Module, Pool)):
        return row
    return Pool(*row) if len(row) == 2 and isinstance(row[1], int) else Module(*row)


def min_size(modules):
    """The smallest input for which no feature map of a module table vanishes."""
    return min_input_size(list(_windows([_row(row) for row in modules])))


def aux_min_size(modules, aux_after):
    """The smallest input for the auxiliary classifiers on the modules ``aux_after``
    (their 5x5/3 pooling must fit), 0 without any."""
    rows = [_row(row) for row in modules]
    return max((min_input_size([*_windows(rows, tap), AUX_POOL]) for tap in aux_after), default=0)


#: The default input; the auxiliary classifiers' default taps.
DEFAULT_SIZE = 224
AUX_AFTER = ("inception_4a", "inception_4d")


def GoogLeNet(
    *,
    block="inception",
    modules=GOOGLENET_MODULES,
    norm=None,
    norm_epsilon=1e-5,
    kernel_5x5=5,
    lrn=True,
    dropout=0.4,
    aux_logits=False,
    aux_after=AUX_AFTER,
    width_multiplier=1.0,
    transform_input=False,
    reduction_ceil_mode=False,
    default_size=DEFAULT_SIZE,
    name="googlenet",
    **kwargs,
):
    """A GoogLeNet-style network: the Inception stem, a table of modules, one classifier.

    Szegedy et al. Going Deeper with Convolutions. CVPR 2015
    (https://arxiv.org/abs/1409.4842); Ioffe, Szegedy. Batch Normalization. ICML 2015
    (https://arxiv.org/abs/1502.03167).

    The stem is conv1 7x7/2 (padded by 3), pool1 3x3/2, conv2_reduce 1x1 64, conv2 3x3
    192, pool2 3x3/2; ``lrn=True`` adds local response normalization after pool1 and
    after conv2 (Caffe's bvlc_googlenet: 5 channels, alpha 1e-4 / 5 in this layer's
    convention, beta 0.75, k 1). All max pooling between grids rounds its output size
    up, as Caffe does, which gives the paper's 112-56-28-14-7 maps at 224. The head is
    global average pooling (the paper's 7x7/1 average pooling at 224), dropout and the
    fully connected classifier.

    Args:
        block: ``"inception"`` (GoogLeNet's ``InceptionModule``) or ``"bn_inception"``
            (``BNInceptionModule``). Defaults to ``"inception"``.
        modules: the module table: ``Module(name, widths, pool, strides)`` rows, and
            names such as ``"pool3"`` for a 3x3/2 max pooling layer of that name (or
            ``Pool(name, size)`` rows for a ``size`` x ``size`` / 2 one). Defaults to
            ``GOOGLENET_MODULES`` (Table 1).
        norm: None (convolutions with bias, the 2014 paper) or ``"batch"`` (no bias,
            batch normalization). Defaults to None.
        norm_epsilon: float, the batch-norm epsilon. Defaults to 1e-5.
        kernel_5x5: int, the kernel of the Inception modules' "5x5" branch (GoogLeNet's
            ``InceptionModule`` only). Defaults to 5; torchvision's GoogLeNet has 3.
        lrn: bool, local response normalization in the stem. Defaults to True.
        dropout: float, dropout before the classifier. Defaults to 0.4.
        aux_logits: bool, add the auxiliary classifiers (``InceptionAux``) after the
            modules named in ``aux_after``; the model then has the outputs
            ``[head, aux1, aux2]``. Needs include_top=True and a static input large
            enough for their 5x5/3 pooling (79x79 for GoogLeNet). Defaults to False.
        aux_after: names of the modules feeding the auxiliary classifiers. Defaults to
            ``("inception_4a", "inception_4d")``.
        width_multiplier: float, scales every convolution of the stem and the modules
            (not the auxiliary classifiers) to ``max(int(width * m), 16)``, TF-slim's
            ``depth_multiplier`` with ``min_depth=16``; a module's missing branch (width
            0) stays missing. Defaults to 1.0, the paper's widths.
        transform_input: bool, begin with torchvision's ``transform_input``, a
            per-channel affine map (a ``Rescaling`` layer named ``transform_input``)
            from ImageNet-normalized RGB to the [-1, 1] input that its GoogLeNet
            weights were trained on (``TRANSFORM_INPUT``); needs 3 input channels.
            Defaults to False.
        reduction_ceil_mode: bool, the pass-through max pooling of the stride-2
            modules (``block="bn_inception"``) is unpadded and rounds up, as Cadene's
            port of the BN-Inception Caffe model, instead of padding 1
            (``BNInceptionModule``'s ``ceil_mode``): the same maps at 224, but their
            inputs must have even sizes. Defaults to False.
        default_size: default input size. Defaults to 224.
        name: model name. Defaults to ``"googlenet"``.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    The minimum input size is the smallest for which no feature map vanishes.

    Examples:

    >>> model = GoogLeNet(input_shape=(96, 96, 3), num_classes=10, aux_logits=True)
    >>> model.output_names
    ['predictions', 'aux1', 'aux2']
    """
    if block not in BLOCKS:
        raise ValueError(f"Expected `block` to be one of {list(BLOCKS)}. Received: block={block!r}")
    multiplier = width_multiplier_arg(width_multiplier)
    modules = tuple(_row(row) for row in modules)
    modules = tuple(
        row if isinstance(row, Pool) else row._replace(widths=tuple(scaled_width(w, multiplier) for w in row.widths))
        for row in modules
    )
    names = [row.name for row in modules if isinstance(row, Module)]
    strided = [row.name for row in modules if isinstance(row, Module) and row.strides != 1]
    if block == "inception" and strided:
        raise ValueError(
            "GoogLeNet's modules keep the grid size (use a \"pool\" row to reduce it). "
            f"Received: strides=2 in {', '.join(strided)}"
        )
    if reduction_ceil_mode and not strided:
        raise ValueError(
            "reduction_ceil_mode=True sets the pooling of stride-2 modules, and these modules have none. "
            f"Received: reduction_ceil_mode={reduction_ceil_mode!r}, block={block!r}"
        )
    aux_after = tuple(aux_after) if aux_logits else ()
    missing = [tap for tap in aux_after if tap not in names]
    if aux_logits and (not aux_after or missing):
        raise ValueError(
            "With aux_logits=True, `aux_after` must name modules of the network "
            f"({', '.join(names)}). Received: aux_after={aux_after}"
        )
    aux_min = aux_min_size(modules, aux_after)
    conv = dict(use_bias=norm is None, norm=norm, norm_epsilon=norm_epsilon)

    def features(x):
        data_format = keras.config.image_data_format()  # the model's: build_model sets it
        size = spatial(x.shape, data_format)
        if transform_input:
            if x.shape[channel_axis(data_format)] != 3:
                raise ValueError(
                    "transform_input=True maps ImageNet-normalized RGB images: it needs 3 input "
                    f"channels. Received: input_shape={tuple(x.shape[1:])}"
                )
            last = data_format == "channels_last"
            per_channel = {k: v if last else [[[c]] for c in v] for k, v in TRANSFORM_INPUT.items()}
            x = keras.layers.Rescaling(**per_channel, name="transform_input")(x)
        if aux_after and (None in size or min(size) < aux_min):
            raise ValueError(
                f"With aux_logits=True, {name} needs a static input of at least "
                f"{aux_min}x{aux_min} for the auxiliary classifiers' 5x5/3 pooling. "
                f"Received: input_shape={tuple(x.shape[1:])}"
            )
        x = ConvBNAct(scaled_width(64, multiplier), 7, strides=2, padding=3, name="conv1", **conv)(x)
        x = PaddedMaxPool2D(3, 2, ceil_mode=True, name="pool1")(x)
        if lrn:
            x = LocalResponseNormalization(5, alpha=1e-4 / 5, beta=0.75, k=1.0, name="lrn1")(x)
        x = ConvBNAct(scaled_width(64, multiplier), 1, name="conv2_reduce", **conv)(x)
        x = ConvBNAct(scaled_width(192, multiplier), 3, padding=1, name="conv2", **conv)(x)
        if lrn:
            x = LocalResponseNormalization(5, alpha=1e-4 / 5, beta=0.75, k=1.0, name="lrn2")(x)
        x = PaddedMaxPool2D(3, 2, ceil_mode=True, name="pool2")(x)
        taps = []
        for row in modules:
            if isinstance(row, Pool):
                x = PaddedMaxPool2D(row.size, 2, ceil_mode=True, name=row.name)(x)
                continue
            if block == "inception":
                x = InceptionModule(*row.widths, kernel_5x5=kernel_5x5, name=row.name, **conv)(x)
            else:
                options = dict(pool=row.pool, strides=row.strides, ceil_mode=reduction_ceil_mode and row.strides == 2)
                x = BNInceptionModule(*row.widths, **options, name=row.name, **conv)(x)
            if row.name in aux_after:
                taps.append(x)
        return (x, taps) if aux_after else x

    def aux_head(tap, index, num_classes, classifier_activation):
        return InceptionAux(num_classes, classifier_activation=classifier_activation, name=f"aux{index}", **conv)(tap)

    return build_model(
        features,
        name=name,
        default_size=default_size,
        min_size=min_size(modules),
        head=dict(pooling="avg", dropout=dropout),
        aux_head=aux_head if aux_logits else None,
        **kwargs,
    )


#: Szegedy et al. 2014, sections 5-6, with Caffe's bvlc_googlenet solver.
RECIPE = Recipe(
    optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=2e-4, batch_size=32, epochs=250,
    schedule="step", schedule_args=dict(gamma=0.96, every=8), dropout=0.4, augment="inception",
    aux_loss_weight=0.3,
    source="Szegedy et al. 2014, sections 5-6 (momentum 0.9, lr decreased by 4 % every 8 epochs, auxiliary losses weighted 0.3)",
    notes="The paper trains asynchronously on a cluster; initial lr, batch and weight decay from Caffe's bvlc_googlenet solver.",
)
#: Ioffe and Szegedy 2015, section 4.2.1: BN-x5.
BN_INCEPTION_RECIPE = Recipe(
    optimizer="sgd", lr=0.0075, momentum=0.9, weight_decay=4e-5, batch_size=32, epochs=100,
    schedule="exponential", schedule_args=dict(gamma=round(0.96 ** 0.75, 4), every=1), dropout=0.0,
    augment="inception",
    source="Ioffe and Szegedy 2015, section 4.2.1 (BN-x5: lr 5 times Inception's 0.0015, no dropout, L2 reduced 5 times, lr decay 6 times faster)",
    notes="Inception's decay of 4 % every 8 epochs made 6 times faster: 0.96 every 4/3 epochs, 0.9698 per epoch.",
)
#: Every Inception network's search (GoogLeNet, BN-Inception, Inception v3, v4, Inception-ResNet).
INCEPTION_SPACE = Space(
    "inception",
    (
        Choice("width_multiplier", (0.25, 0.5, 0.75, 1.0), "multiplier of every convolution's width (min 16)", default=1.0),
        DROPOUT,
    ),
    same_name_arguments("width_multiplier"),
    "Inception width multiplier and dropout",
)

_TORCHVISION_BRANCHES = {
    "branch1": "branch1x1",
    "branch2.0": "branch3x3_reduce",
    "branch2.1": "branch3x3",
    "branch3.0": "branch5x5_reduce",
    "branch3.1": "branch5x5",  # a 3x3 kernel in torchvision (kernel_5x5=3)
    "branch4.1": "pool_proj",
}
_TORCHVISION_STEM = {"conv1": "conv1", "conv2": "conv2_reduce", "conv3": "conv2"}


def torchvision_rule(prefix):
    """torchvision's GoogLeNet module names -> ours; its auxiliary classifiers are skipped
    (untrained in its weights, and another head than the paper's)."""
    m = re.fullmatch(r"(conv[123])\.(conv|bn)", prefix)
    if m:
        return f"{_TORCHVISION_STEM[m[1]]}/{m[2]}"
    if prefix == "fc":
        return "predictions"
    if re.fullmatch(r"aux[12]\..*", prefix):
        return SKIP
    m = re.fullmatch(r"inception(\d[a-e])\.(branch\d(?:\.\d)?)\.(conv|bn)", prefix)
    if m and m[2] in _TORCHVISION_BRANCHES:
        return f"inception_{m[1]}/{_TORCHVISION_BRANCHES[m[2]]}/{m[3]}"
    return None


_CAFFE_BRANCHES = {n: f"branch{n}" for n in ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5")} | {"pool_proj": "pool_proj"}
_CAFFE_LAYERS = {
    "conv1/7x7_s2": "conv1/conv",
    "conv2/3x3_reduce": "conv2_reduce/conv",
    "conv2/3x3": "conv2/conv",
    "loss3/classifier": "predictions",
}
_CAFFE_AUX = {"conv": "conv/conv", "fc": "head/fc1", "classifier": "head/predictions"}


def caffe_rule(name):
    """bvlc_googlenet's Caffe layer names -> ours; its auxiliary classifiers loss1 and
    loss2 are aux1 and aux2 (loaded when the model has them: aux_logits=True)."""
    if name in _CAFFE_LAYERS:
        return _CAFFE_LAYERS[name]
    m = re.fullmatch(r"(inception_\d[a-e])/(\w+)", name)
    if m and m[2] in _CAFFE_BRANCHES:
        return f"{m[1]}/{_CAFFE_BRANCHES[m[2]]}/conv"
    m = re.fullmatch(r"loss([12])/(conv|fc|classifier)", name)
    return f"aux{m[1]}/{_CAFFE_AUX[m[2]]}" if m else None


#: BVLC GoogLeNet (Caffe Model Zoo, models/bvlc_googlenet): its readme's file, URL,
#: sha1, license and top-1 (center crop); train_val.prototxt's BGR mean values 104, 117,
#: 123 and 224 crops. The file is a training snapshot with the auxiliary classifiers.
BVLC = CaffeWeights(
    file="bvlc_googlenet.caffemodel", url="http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel",
    checksum="sha1:405fc5acd08a3bb12de8ee5e23a96bec22f08204", rule=caffe_rule, classifier="loss3/classifier",
    optional=(*HEAD_LAYERS, "aux1", "aux2"), top1=68.7, top1_source="BVLC model zoo readme (models/bvlc_googlenet)",
    license="unrestricted", source="BVLC GoogLeNet, Caffe Model Zoo (models/bvlc_googlenet)",
    preprocessing=caffe_preprocessing(DEFAULT_SIZE, mean=(104.0, 117.0, 123.0)),
    options={"lrn": True, "kernel_5x5": 5, "norm": None},
)
TORCHVISION = TorchvisionWeights(
    model="googlenet", file="googlenet-1378be20.pth", top1=69.778, top1_source="torchvision's weights metadata",
    rule=torchvision_rule,
    recognize=lambda model: {"transform_input": bool(model.transform_input)} if type(model).__name__ == "GoogLeNet" else None,
    # Its weights take [-1, 1] inputs; torchvision feeds them ImageNet-normalized images through transform_input.
    defaults={"transform_input": True},
)
#: googlenet_bn's and bn_inception's settings of the generic builder.
GOOGLENET_BN = dict(norm="batch", norm_epsilon=1e-3, kernel_5x5=3, lrn=False, dropout=0.2)
BN_INCEPTION = dict(block="bn_inception", modules=BN_INCEPTION_MODULES, norm="batch", lrn=False, dropout=0.0, aux_after=())

_CADENE_STEM = {"conv1_7x7_s2": "conv1", "conv2_3x3_reduce": "conv2_reduce", "conv2_3x3": "conv2"}
_CADENE_BRANCHES = {
    "1x1": "branch1x1", "3x3_reduce": "branch3x3_reduce", "3x3": "branch3x3",
    "double_3x3_reduce": "branch_double_3x3_reduce", "double_3x3_1": "branch_double_3x3_1",
    "double_3x3_2": "branch_double_3x3_2", "pool_proj": "pool_proj",
}


def cadene_rule(prefix):
    """Cadene's BNInception module names (the Caffe model's: ``conv1_7x7_s2``,
    ``conv1_7x7_s2_bn``, ``inception_3a_1x1``, ..., ``last_linear``) -> ours."""
    if prefix == "last_linear":
        return "predictions"
    name, kind = (prefix[: -len("_bn")], "bn") if prefix.endswith("_bn") else (prefix, "conv")
    if name in _CADENE_STEM:
        return f"{_CADENE_STEM[name]}/{kind}"
    m = re.fullmatch(r"(inception_\d[a-e])_(\w+)", name)
    return f"{m[1]}/{_CADENE_BRANCHES[m[2]]}/{kind}" if m and m[2] in _CADENE_BRANCHES else None


#: Cadene's pretrainedmodels ``bninception`` (its pretrained_settings: the file, BGR in
#: 0-255 minus (104, 117, 128); its README: top-1 73.524 evaluated at 224 from 256,
#: bilinear). Xiong Yuanjun's Caffe model, ported: a conv bias before every batch norm
#: (folded into its moving mean), the reductions' unpadded ceil-mode pass-through pooling.
CADENE = CadeneWeights(
    model="bninception", url="http://data.lip6.fr/cadene/pretrainedmodels/bn_inception-52deb4733.pth",
    preprocessing=caffe_preprocessing(DEFAULT_SIZE, mean=(104.0, 117.0, 128.0)),
    top1=73.524, top1_source="Cadene's pretrained-models.pytorch README, accuracy table (BNInception, our porting)",
    # Cadene's repository is BSD-3-Clause (its code); the weights, a port of Xiong Yuanjun's
    # Caffe model, come with no terms of their own.
    license="not stated (ImageNet's terms may apply)",
    rule=cadene_rule, options={"reduction_ceil_mode": True},
    recognize=lambda model: {} if (type(model).__module__, type(model).__name__) == (
        "pretrainedmodels.models.bninception", "BNInception") else None,
)

#: What every variant of the module shares.
_PAPER = dict(
    paper="Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich. "
    "Going Deeper with Convolutions. CVPR 2015",
    year=2014,
    url="https://arxiv.org/abs/1409.4842",
)
_FAMILY = dict(default_size=DEFAULT_SIZE, space=INCEPTION_SPACE, family_builder=GoogLeNet)


@register_model(
    **_PAPER,
    **_FAMILY,
    depth=22,
    paper_error=PaperError(None, 10.07, "1 crop", "Table 3 (1 model)"),
    min_size=min_size(GOOGLENET_MODULES),
    aux_min_size=aux_min_size(GOOGLENET_MODULES, AUX_AFTER),
    params=6_998_552,
    macs=1.583,
    weights=[BVLC],
    recipe=RECIPE,
    deviations=(
        "The paper's network (Table 1, Caffe's bvlc_googlenet): convolutions with bias and "
        "no batch normalization, a true 5x5 convolution in the 5x5 branch, LRN after pool1 "
        "and conv2 (Caffe's size 5, alpha 1e-4, beta 0.75; alpha 2e-5 here, where alpha "
        "multiplies the plain sum), max pooling rounding up (Caffe's ceil mode) for the "
        "paper's 112-56-28-14-7 maps, dropout 0.4. torchvision's GoogLeNet differs: a 3x3 "
        "kernel in the \"5x5\" branch (pytorch/vision issue #906) and batch normalization "
        "instead of conv bias (6,624,904 parameters, 1.498 GMACs); we keep the paper's 5x5 "
        "and no BN. The paper's Table 1 total of about 6.8M is a rounded sum of weights "
        "only, and its per-module params column does not follow exactly from its own "
        "widths; the widths are reproduced exactly (6,998,552 with biases). aux_logits=True "
        "adds the two auxiliary classifiers of section 5 (13,378,280 parameters at 224); "
        "they flatten their 5x5/3-pooled map, 4x4 at 224, so their fully connected "
        "layers grow with the input, where torchvision pools adaptively to 4x4. The "
        "final 7x7/1 average pooling is global average pooling (the same at 224). "
        "min_size 31 (torchvision says 15, as PyTorch's ceil mode lets a pooling window "
        "start in the padding). He-normal initialization instead of Caffe's Xavier."
    ),
    feature_layers=("conv1", "lrn2", "inception_3b", "inception_4e", "inception_5b"),
)
def googlenet(*, aux_logits=False, name="googlenet", **kwargs):
    """GoogLeNet (Inception v1) as in the paper; ``aux_logits=True`` adds the two auxiliary classifiers."""
    return GoogLeNet(aux_logits=aux_logits, name=name, **kwargs)


@register_model(
    **_PAPER,
    **_FAMILY,
    depth=22,
    paper_error=PaperError(30.222, 10.470, "1 crop", "torchvision's weights (TF-slim's Inception V1)"),
    min_size=min_size(GOOGLENET_BN_MODULES),
    aux_min_size=aux_min_size(GOOGLENET_BN_MODULES, AUX_AFTER),
    params=6_624_904,
    macs=1.498,
    weights=[TORCHVISION],
    recipe=RECIPE,
    deviations=(
        "Not the paper's network: the Inception v1 that TF-slim released and torchvision "
        "ships (torchvision.models.googlenet), whose ImageNet weights weights=\"torchvision\" "
        "loads. It differs from the paper (``googlenet``) in five places: batch "
        "normalization (epsilon 1e-3) after every convolution instead of a conv bias; a 3x3 "
        "kernel in the \"5x5\" branch of every module (pytorch/vision issue #906); no LRN; a "
        "2x2/2 pool4 instead of 3x3/2 (the same 14 -> 7 at 224); dropout 0.2. 6,624,904 "
        "parameters and 1.498 GMACs, torchvision's figures. Its input is TF-slim's [-1, 1] "
        "RGB; transform_input=True adds torchvision's map from ImageNet-normalized RGB "
        "(what weights=\"torchvision\" builds). aux_logits=True adds the paper's auxiliary "
        "classifiers with batch norm; torchvision's differ (adaptive 4x4 pooling) and its "
        "released weights leave them untrained, so they are not converted."
    ),
    feature_layers=("conv1", "conv2", "inception_3b", "inception_4e", "inception_5b"),
)
def googlenet_bn(*, modules=GOOGLENET_BN_MODULES, aux_logits=False, transform_input=False, name="googlenet_bn", **kwargs):
    """GoogLeNet as TF-slim and torchvision build it: batch norm, 3x3 "5x5" branch, 2x2 pool4."""
    options = {**GOOGLENET_BN, **kwargs}  # its layout's settings, which a call may change (dropout)
    return GoogLeNet(modules=modules, aux_logits=aux_logits, transform_input=transform_input, name=name, **options)


@register_model(
    **_FAMILY,
    depth=34,
    paper_error=PaperError(25.2, 7.82, "1 crop", "Table 2"),
    paper="Ioffe, Szegedy. Batch Normalization: Accelerating Deep Network Training by "
    "Reducing Internal Covariate Shift. ICML 2015",
    year=2015,
    url="https://arxiv.org/abs/1502.03167",
    min_size=min_size(BN_INCEPTION_MODULES),
    params=11_285_224,
    macs=2.033,
    weights=[CADENE],
    recipe=BN_INCEPTION_RECIPE,
    deviations=(
        "The Inception network of the paper's Figure 5, in the layout of the released "
        "Caffe model as ported by Cadene's pretrained-models (bninception.py): BN-Inception, "
        "called \"Inception v2\" in TF-slim and Keras circles (TF-slim's inception_v2 adds "
        "a depthwise-separable stem; the Inception-v3 paper's \"Inception-v2\" is another "
        "network). The Caffe port keeps a bias in every convolution before batch "
        "normalization (11,295,240 parameters); we drop it, as batch normalization makes it "
        "redundant (11,285,224). Batch-norm epsilon 1e-5 as the port. No LRN, no dropout "
        "(section 4.2.1 removes both) and no auxiliary classifiers (none in the released "
        "model). Average pooling in the modules counts the zero padding, as Caffe. The "
        "pass-through max pooling of the reductions 3c and 4e pads 1 like the stride-2 "
        "convolutions beside it instead of the port's unpadded ceil-mode pooling: the same "
        "28->14 and 14->7 maps at 224, and the branches agree at any input size (the port's "
        "only at even sizes); reduction_ceil_mode=True gives the port's (what "
        "weights=\"cadene\" builds). The final 7x7 average pooling is global average "
        "pooling (the port's 7x7/1 pooling is the same at 224 and fits no other size)."
    ),
    feature_layers=("conv1", "conv2", "inception_3b", "inception_4d", "inception_5b"),
)
def bn_inception(*, name="bn_inception", **kwargs):
    """BN-Inception (Inception with batch normalization, Figure 5), conv bias dropped."""
    return GoogLeNet(name=name, **{**BN_INCEPTION, **kwargs})  # its layout's settings, which a call may change
