"""The ResNet paper's CIFAR-10 networks and their plain twins (He et al. 2015, section 4.2).

A 3x3 convolution of 16 channels, three stages of ``n`` basic blocks with 16, 32 and 64
channels (stride 2 at the first block of stages 2 and 3: maps of 32, 16 and 8 at a 32x32
input), global average pooling and a 10-way classifier: ``6n + 2`` weight layers. The
residual networks ``resnet20`` ... ``resnet1202`` use identity shortcuts everywhere, with
option A where the shape changes (subsampled, zero-padded channels, no parameters); the
plain networks ``plain20`` ... ``plain56`` are the same layers without the shortcuts,
the pairs of the paper's Figure 6 (``python -m keras_cnns experiment degradation``).
Names follow the ImageNet ResNets: the stem ``conv1``, the blocks ``conv{stage}_block{i}``
with stages 2 to 4.
"""

from keras_cnns.layers import BasicBlock, ConvBNAct
from keras_cnns.layers.resnet import SHORTCUTS
from keras_cnns.layers._base import check_choice, positive_int
from keras_cnns.models._builder import build_model
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.resnet import PAPER
from keras_cnns.models.spec import Choice, Recipe, Space
from keras_cnns.weights import CIFAR10_RGB

#: Blocks per stage ``n`` of each depth 6n + 2 (section 4.2, Table 6).
BLOCKS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18, 1202: 200}
#: The depths of the plain networks of Figure 6.
PLAIN_DEPTHS = (20, 32, 44, 56)
WIDTHS = (16, 32, 64)
#: The default input (CIFAR's) and the smallest one (the total stride).
DEFAULT_SIZE, MIN_SIZE = 32, 4

__all__ = ["CifarResNet", *(f"resnet{d}" for d in BLOCKS), *(f"plain{d}" for d in PLAIN_DEPTHS)]


def CifarResNet(*, blocks, shortcut="zero_pad", widths=WIDTHS, norm="batch", num_classes=10, name="resnet_cifar", **kwargs):
    """A CIFAR ResNet or plain network: a 3x3 stem, three stages of basic blocks, global pooling.

    Args:
        blocks: int, the basic blocks ``n`` of each stage (depth ``6n + 2``).
        shortcut: where a block's shape changes, ``"zero_pad"`` (the paper's option A,
            no parameters), ``"projection"`` (option B, a 1x1 convolution and batch
            norm) or None: no shortcuts anywhere, a plain network. Defaults to
            ``"zero_pad"``.
        widths: three ints, the channels of the stages; the stem has ``widths[0]``.
            Defaults to (16, 32, 64).
        norm: "batch" or "sync_batch". Defaults to "batch".
        num_classes: int. Defaults to 10 (CIFAR-10).
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, classifier_activation), documented in
            ``keras_cnns.models._builder.build_model``.

    Examples:

    >>> model = CifarResNet(blocks=1, input_shape=(32, 32, 3))
    >>> [model.get_layer(f"conv{s}_block1").output.shape[1] for s in (2, 3, 4)], model.output_shape
    ([32, 16, 8], (None, 10))
    """
    positive_int(blocks, "blocks")
    check_choice(shortcut, "shortcut", SHORTCUTS)
    widths = tuple(widths)
    if len(widths) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in widths):
        raise ValueError(f"Expected `widths` to be three positive ints. Received: widths={widths!r}")

    def features(x):
        x = ConvBNAct(widths[0], 3, norm=norm, name="conv1")(x)
        for stage, filters in enumerate(widths):
            for i in range(blocks):
                strides = 2 if stage > 0 and i == 0 else 1
                x = BasicBlock(filters, strides=strides, shortcut=shortcut, norm=norm, name=f"conv{stage + 2}_block{i + 1}")(x)
        return x

    return build_model(
        features, name=name, default_size=DEFAULT_SIZE, min_size=MIN_SIZE, head=dict(pooling="avg"),
        num_classes=num_classes, **kwargs,
    )


#: He et al. 2015, section 4.2. The paper counts iterations: 32k, 48k and 64k at batch
#: 128 on its 45k training images (351 steps per epoch) are epochs 91, 136.5 and 182.
RECIPE = Recipe(
    optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, batch_size=128, epochs=182,
    schedule="step", schedule_args=dict(milestones=(91, 136.5), gamma=0.1), augment="cifar",
    source="He et al. 2015, section 4.2 (SGD, momentum 0.9, lr 0.1 divided by 10 at 32k and 48k iterations, "
           "stop at 64k, weight decay 1e-4, batch 128, 4-pixel padding, random 32x32 crops and flips)",
    notes="The paper trains on 45k images and validates on the other 5k; train.py validates on tfds:cifar10's "
          "test split and trains on all 50k (390 steps per epoch), so the same epochs are 71k iterations.",
)
#: ResNet-110 starts at lr 0.01 "until the training error is below 80% (about 400
#: iterations)", then follows the others' schedule.
RECIPE_110 = RECIPE.replace(
    schedule_args=dict(milestones=(round(400 / 351, 2), 91, 136.5), values=(0.01, 0.1, 0.01, 0.001)),
    notes=RECIPE.notes + " ResNet-110 warms up at lr 0.01 for its first 400 iterations (1.14 epochs); these "
          "rates are explicit values, which --lr does not scale.",
)


def _space(name, depths, kind, doc):
    return Space(
        name,
        (
            Choice("depth", depths, f"layers: the registered {kind}N", default=depths[0]),
            Choice("width", (16, 24, 32), "first stage's channels, doubled at each stage (paper: 16)", default=16),
        ),
        lambda info, v: (f"{kind}{v['depth']}", {} if v["width"] == 16 else dict(widths=[v["width"] * 2**i for i in range(3)])),
        doc,
    )


RESNET_SPACE = _space("resnet_cifar", (20, 32, 44, 56, 110), "resnet", "CIFAR ResNet depth and width")
PLAIN_SPACE = _space("plain_cifar", PLAIN_DEPTHS, "plain", "CIFAR plain network depth and width")


def _meta(depth, params, macs, plain=False, error=None):
    shortcuts = (
        "No shortcuts: the paper's plain network, the same layers and parameters as "
        f"resnet{depth} (Figure 6)." if plain else
        "Option A shortcuts, as the paper's CIFAR networks: the identity, subsampled by 2 "
        "and zero-padded where the shape changes (no parameters). The zeros are the new "
        "channels after the input's, as fb.resnet.torch's shortcutType A; some ports pad "
        "both sides, the same function class with other channel positions."
    )
    return dict(
        **PAPER,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        params=params,
        macs=macs,
        depth=depth,
        paper_error=error,
        preprocessing=CIFAR10_RGB,
        deviations=shortcuts + " He-normal initialization and batch norm after every convolution, as the paper.",
        feature_layers=("conv1", *(f"conv{stage}_block{BLOCKS[depth]}" for stage in (2, 3, 4))),
        recipe=RECIPE_110 if depth == 110 else RECIPE,
        space=PLAIN_SPACE if plain else RESNET_SPACE,
        family_builder=CifarResNet,
    )


def _error(top1, source="Table 6"):
    return PaperError(top1, None, "test set", source, dataset="CIFAR-10")


@register_model(**_meta(20, 269_722, 0.04055, error=_error(8.75)))
def resnet20(*, blocks=BLOCKS[20], name="resnet20", **kwargs):
    """ResNet-20 for CIFAR-10 (n=3, 0.27M parameters)."""
    return CifarResNet(blocks=blocks, name=name, **kwargs)


@register_model(**_meta(32, 464_154, 0.06886, error=_error(7.51)))
def resnet32(*, blocks=BLOCKS[32], name="resnet32", **kwargs):
    """ResNet-32 for CIFAR-10 (n=5, 0.46M parameters)."""
    return CifarResNet(blocks=blocks, name=name, **kwargs)


@register_model(**_meta(44, 658_586, 0.09717, error=_error(7.17)))
def resnet44(*, blocks=BLOCKS[44], name="resnet44", **kwargs):
    """ResNet-44 for CIFAR-10 (n=7, 0.66M parameters)."""
    return CifarResNet(blocks=blocks, name=name, **kwargs)


@register_model(**_meta(56, 853_018, 0.12549, error=_error(6.97)))
def resnet56(*, blocks=BLOCKS[56], name="resnet56", **kwargs):
    """ResNet-56 for CIFAR-10 (n=9, 0.85M parameters)."""
    return CifarResNet(blocks=blocks, name=name, **kwargs)


@register_model(**_meta(110, 1_727_962, 0.25289, error=_error(6.43, "Table 6 (best of 5 runs; mean 6.61 ± 0.16)")))
def resnet110(*, blocks=BLOCKS[110], name="resnet110", **kwargs):
    """ResNet-110 for CIFAR-10 (n=18, 1.7M parameters)."""
    return CifarResNet(blocks=blocks, name=name, **kwargs)


@register_model(**_meta(1202, 19_421_274, 2.82924, error=_error(7.93)))
def resnet1202(*, blocks=BLOCKS[1202], name="resnet1202", **kwargs):
    """ResNet-1202 for CIFAR-10 (n=200, 19.4M parameters; the paper's overfitting example)."""
    return CifarResNet(blocks=blocks, name=name, **kwargs)


@register_model(**_meta(20, 269_722, 0.04055, plain=True))
def plain20(*, blocks=BLOCKS[20], shortcut=None, name="plain20", **kwargs):
    """Plain-20 for CIFAR-10: ResNet-20 without its shortcuts."""
    return CifarResNet(blocks=blocks, shortcut=shortcut, name=name, **kwargs)


@register_model(**_meta(32, 464_154, 0.06886, plain=True))
def plain32(*, blocks=BLOCKS[32], shortcut=None, name="plain32", **kwargs):
    """Plain-32 for CIFAR-10: ResNet-32 without its shortcuts."""
    return CifarResNet(blocks=blocks, shortcut=shortcut, name=name, **kwargs)


@register_model(**_meta(44, 658_586, 0.09717, plain=True))
def plain44(*, blocks=BLOCKS[44], shortcut=None, name="plain44", **kwargs):
    """Plain-44 for CIFAR-10: ResNet-44 without its shortcuts."""
    return CifarResNet(blocks=blocks, shortcut=shortcut, name=name, **kwargs)


@register_model(**_meta(56, 853_018, 0.12549, plain=True))
def plain56(*, blocks=BLOCKS[56], shortcut=None, name="plain56", **kwargs):
    """Plain-56 for CIFAR-10: ResNet-56 without its shortcuts (Figure 6's deepest plain net)."""
    return CifarResNet(blocks=blocks, shortcut=shortcut, name=name, **kwargs)
