"""Inception-v4 (Szegedy, Ioffe, Vanhoucke, Alemi, 2016).

The stem (Fig. 3) takes 299x299 to 35x35x384; then Inception-A modules at 35x35,
Reduction-A, Inception-B modules at 17x17, Reduction-B, Inception-C modules at 8x8,
global average pooling, dropout (keep 0.8) and the classifier (Fig. 9). The layout is
TF-slim's, which timm and Cadene's port share; layers are named after TF-slim's scopes:
``stem``, ``mixed_5b`` ... ``mixed_5e``, ``mixed_6a``, ``mixed_6b`` ... ``mixed_6h``,
``mixed_7a``, ``mixed_7b`` ... ``mixed_7d``.
"""

import dataclasses
import re

from keras_cnns.layers import InceptionV4A, InceptionV4B, InceptionV4C, InceptionV4ReductionB, InceptionV4Stem, ReductionA
from keras_cnns.layers._base import width_multiplier as width_multiplier_arg
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.googlenet import INCEPTION_SPACE
from keras_cnns.models.inception_v3 import SLIM_RMSPROP
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import Recipe
from keras_cnns.weights import IMAGENET_INCEPTION
from keras_cnns.weights.timm import TimmWeights

#: The paper, shared with the Inception-ResNet models.
PAPER = dict(
    paper=(
        "Szegedy, Ioffe, Vanhoucke, Alemi. Inception-v4, Inception-ResNet and the Impact "
        "of Residual Connections on Learning. AAAI 2017"
    ),
    year=2016,
    url="https://arxiv.org/abs/1602.07261",
)
#: Inception-A, -B and -C modules (Fig. 9).
BLOCKS = (4, 7, 3)
#: Reduction-A's k, l, m, n for Inception-v4 (Table 1).
REDUCTION_A = (192, 224, 256, 384)
#: (kernel, stride, padding, ceil_mode) of the layers that shrink the map: the stem's
#: 3x3 convolutions and poolings, then the two reductions.
WINDOWS = ((3, 2, 0, False), (3, 1, 0, False), (3, 1, 1, False), (3, 2, 0, False), (3, 1, 0, False), (3, 2, 0, False), (3, 2, 0, False), (3, 2, 0, False))
MIN_SIZE = min_input_size(WINDOWS)
DEFAULT_SIZE = 299
#: Szegedy et al. 2016, section 4; the Inception-ResNet networks train the same way.
RECIPE = Recipe(
    **SLIM_RMSPROP, epochs=100, batch_size=32, weight_decay=4e-5, dropout=0.2,
    source="Szegedy et al. 2016, section 4 (RMSProp decay 0.9, epsilon 1.0, lr 0.045 decayed by 0.94 every 2 epochs)",
    notes="Weight decay from TF-slim; the paper keeps dropout 0.8 keep-probability.",
)

__all__ = ["InceptionV4", "inception_v4"]


def _names(grid, count):
    """TF-slim's module names: mixed_5b, mixed_5c, ... after the grid's reduction ``a``."""
    if count > 25:
        raise ValueError(f"Expected at most 25 modules per grid. Received: {count} modules")
    return [f"mixed_{grid}{chr(ord('b') + i)}" for i in range(count)]


def InceptionV4(
    *,
    blocks=BLOCKS,
    reduction_a=REDUCTION_A,
    dropout=0.2,
    norm="batch",
    norm_scale=True,
    width_multiplier=1.0,
    name="inception_v4",
    **kwargs,
):
    """Inception-v4 (Szegedy et al., 2016, Fig. 9).

    Reference: Szegedy, Ioffe, Vanhoucke, Alemi. Inception-v4, Inception-ResNet and the
    Impact of Residual Connections on Learning. AAAI 2017 (arXiv:1602.07261).

    Convolutions have no bias and are followed by batch normalization (epsilon 1e-3)
    with a learned scale, as timm; ``norm_scale=False`` drops the scale as TF-slim and
    keras.applications' Inception models do (31,584 fewer parameters).

    Args:
        blocks: three ints, the number of Inception-A, -B and -C modules.
            Defaults to (4, 7, 3).
        reduction_a: Reduction-A's (k, l, m, n). Defaults to (192, 224, 256, 384).
        dropout: float, dropout before the classifier. Defaults to 0.2 (keep 0.8).
        norm: "batch" or "sync_batch". Defaults to "batch".
        norm_scale: bool, batch norm learns a scale. Defaults to True.
        width_multiplier: float, width multiplier of every convolution, TF-slim's
            depth_multiplier with min_depth 16 (1.0: the paper's network): each width
            ``d`` becomes ``max(int(d * width_multiplier), 16)``. Defaults to 1.0.
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    Examples:

    >>> model = InceptionV4(include_top=False, input_shape=(75, 75, 3))
    >>> model.output_shape
    (None, 1, 1, 1536)
    >>> InceptionV4(include_top=False, input_shape=(75, 75, 3), width_multiplier=0.5).output_shape
    (None, 1, 1, 768)
    """
    blocks = tuple(blocks)
    if len(blocks) != 3 or not all(isinstance(n, int) and n > 0 for n in blocks):
        raise ValueError(f"Expected `blocks` to be three positive ints. Received: blocks={blocks!r}")
    options = dict(
        norm=norm, norm_epsilon=1e-3, norm_scale=norm_scale, width_multiplier=width_multiplier_arg(width_multiplier)
    )

    def features(x):
        x = InceptionV4Stem(name="stem", **options)(x)
        for layer_name in _names(5, blocks[0]):
            x = InceptionV4A(name=layer_name, **options)(x)
        x = ReductionA(*reduction_a, name="mixed_6a", **options)(x)
        for layer_name in _names(6, blocks[1]):
            x = InceptionV4B(name=layer_name, **options)(x)
        x = InceptionV4ReductionB(name="mixed_7a", **options)(x)
        for layer_name in _names(7, blocks[2]):
            x = InceptionV4C(name=layer_name, **options)(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="avg", dropout=dropout),
        **kwargs,
    )


# --- Weights ---------------------------------------------------------------------------

#: timm's ``features`` index -> our block: the stem's six (three convolutions, mixed_3a,
#: mixed_4a, mixed_5a), then the modules and reductions.
_TIMM_BLOCKS = ("stem",) * 6 + (*_names(5, 4), "mixed_6a", *_names(6, 7), "mixed_7a", *_names(7, 3))
#: The stem's convolutions and timm's Inception-C names that our branches name otherwise.
_TIMM_NAMES = {
    "0.": "stem_conv1", "1.": "stem_conv2", "2.": "stem_conv3", "3.conv": "mixed_3a_conv", "5.conv": "mixed_5a_conv",
    "branch1_0": "branch1_conv1", "branch1_1a": "branch1_1x3", "branch1_1b": "branch1_3x1",
    "branch2_0": "branch2_conv1", "branch2_1": "branch2_conv2", "branch2_2": "branch2_conv3",
    "branch2_3a": "branch2_1x3", "branch2_3b": "branch2_3x1",
}


def _timm_branch(inner):
    """timm's name of a convolution in a block (``branch1.0``) -> ours (``branch1_conv1``)."""
    if inner in _TIMM_NAMES:
        return _TIMM_NAMES[inner]
    m = re.fullmatch(r"branch(\d)(?:\.(\d))?", inner)
    if m is None:
        return None
    # Inception-A/B/C's branch3 starts with its average pooling (timm's index 0).
    index = 1 if m[2] is None else int(m[2]) + (0 if m[1] == "3" else 1)
    return f"branch{m[1]}_conv{index}" if index else None


def timm_rule(prefix):
    """timm's Inception-v4 module names (``features.N....conv|bn``, ``last_linear``) ->
    our layer paths."""
    if prefix == "last_linear":
        return "predictions"
    m = re.fullmatch(r"features\.(\d+)\.(?:(.+)\.)?(conv|bn)", prefix)
    if m is None or int(m[1]) >= len(_TIMM_BLOCKS):
        return None
    index, inner = int(m[1]), m[2] or ""
    if index < 6:  # the stem: features.0-2, mixed_3a (3), mixed_4a (4), mixed_5a (5)
        branch = _timm_branch(inner) if index == 4 else None
        name = f"mixed_4a_{branch}" if branch else _TIMM_NAMES.get(f"{index}.{inner}")
        return None if name is None else f"stem/{name}/{m[3]}"
    name = _timm_branch(inner)
    return None if name is None else f"{_TIMM_BLOCKS[index]}/{name}/{m[3]}"


def _timm_recognize(model):
    """timm's InceptionV4 with its defaults (batch norm of epsilon 1e-3, ReLU, average pooling)."""
    if (type(model).__module__, type(model).__name__) != ("timm.models.inception_v4", "InceptionV4"):
        return None
    first = model.features[0]
    plain = (len(model.features) == len(_TIMM_BLOCKS) and type(first.bn).__name__.startswith("BatchNorm")
             and first.bn.eps == 1e-3 and getattr(model.global_pool, "pool_type", None) == "avg")
    return {} if plain else None


#: timm's port of TF-slim's Inception-v4 weights (timm/inception_v4.tf_in1k): BN epsilon
#: 1e-3 with a scale of ones, average pools that leave out the padding (ours do), 1000
#: classes; timm's results CSV at 299, crop 0.875, bicubic, inputs scaled to [-1, 1].
TIMM = TimmWeights(
    model="inception_v4", pretrained_tag="tf_in1k", top1=80.144, license="apache-2.0",
    top1_source="timm's results/results-imagenet.csv (inception_v4.tf_in1k, 299 px, crop_pct 0.875)",
    preprocessing=dataclasses.replace(IMAGENET_INCEPTION, crop_pct=0.875, interpolation="bicubic"),
    rule=timm_rule, recognize=_timm_recognize,
)


@register_model(
    weights=[TIMM],
    depth=76,
    paper_error=PaperError(20.0, 5.0, "1 crop", "Table 2"),
    **PAPER,
    default_size=DEFAULT_SIZE,
    min_size=MIN_SIZE,
    params=42_679_816,
    macs=12.254,
    recipe=RECIPE,
    space=INCEPTION_SPACE,
    family_builder=InceptionV4,
    deviations=(
        "The TF-slim layout (timm and Cadene's port share it), with the paper's figures' "
        "widths. Batch norm keeps its scale (gamma) as timm does; TF-slim and keras-style "
        "conv2d_bn drop it (norm_scale=False: 42,648,232 trainable parameters). The 7x1 / "
        "1x7 orders inside Inception-B and Reduction-B, which the figures leave "
        "ambiguous, follow TF-slim."
    ),
    feature_layers=("mixed_5e", "mixed_6h", "mixed_7d"),
)
def inception_v4(*, name="inception_v4", **kwargs):
    """Inception-v4 (Fig. 9): 4 x A, Reduction-A, 7 x B, Reduction-B, 3 x C."""
    return InceptionV4(name=name, **kwargs)
