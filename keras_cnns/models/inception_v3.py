"""Inception v3 (Szegedy et al., 2015), in the layout of the released network.

The stem and module widths are those of TF-slim, keras.applications and torchvision
(``STEM`` and ``MIXED``): unpadded strided convolutions, 3x3/1 "same" average pooling in
the pool branches, modules named ``mixed0`` ... ``mixed10`` as keras.applications names
them. Stem layers carry TF-slim's end-point numbers (``conv1a`` for Conv2d_1a_3x3,
``pool5a`` for MaxPool_5a_3x3). ``aux_logits=True`` adds the auxiliary classifier on
``mixed7`` as a second output, ``aux1``.
"""

import collections

import keras

from keras_cnns.layers import (
    ConvBNAct,
    InceptionV3A,
    InceptionV3Aux,
    InceptionV3B,
    InceptionV3C,
    InceptionV3D,
    InceptionV3E,
    PaddedMaxPool2D,
)
from keras_cnns.layers._base import scaled_width, spatial
from keras_cnns.layers._base import width_multiplier as width_multiplier_arg
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.googlenet import INCEPTION_SPACE
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import Recipe
from keras_cnns.weights import IMAGENET_INCEPTION, KerasApplicationsWeights
from keras_cnns.weights.keras_applications import recognizer

Conv = collections.namedtuple("Conv", "name filters kernel stride padding")
Pool = collections.namedtuple("Pool", "name")

#: The stem, up to the 35x35x192 grid (TF-slim's Conv2d_1a_3x3 ... MaxPool_5a_3x3).
STEM = (
    Conv("conv1a", 32, 3, 2, "valid"),
    Conv("conv2a", 32, 3, 1, "valid"),
    Conv("conv2b", 64, 3, 1, "same"),
    Pool("pool3a"),
    Conv("conv3b", 80, 1, 1, "valid"),
    Conv("conv4a", 192, 3, 1, "valid"),
    Pool("pool5a"),
)
#: mixed0 ... mixed10: the block and its width argument (pool_features, channels_7x7).
MIXED = (
    (InceptionV3A, 32),
    (InceptionV3A, 64),
    (InceptionV3A, 64),
    (InceptionV3B, None),
    (InceptionV3C, 128),
    (InceptionV3C, 160),
    (InceptionV3C, 160),
    (InceptionV3C, 192),
    (InceptionV3D, None),
    (InceptionV3E, None),
    (InceptionV3E, None),
)
#: The auxiliary classifier reads this module's output (17x17x768 at 299).
AUX_TAP = "mixed7"

__all__ = ["InceptionV3", "inception_v3"]


def _windows(aux):
    """The (kernel, stride, padding, ceil_mode) sweeps that shrink the grid."""
    for layer in STEM:
        if isinstance(layer, Pool):
            yield 3, 2, 0, False
        elif layer.padding == "valid":
            yield layer.kernel, layer.stride, 0, False
    yield 3, 2, 0, False  # mixed3
    if aux:
        yield 5, 3, 0, False  # the auxiliary classifier's pooling
        yield 5, 1, 0, False  # and its unpadded 5x5 convolution
    else:
        yield 3, 2, 0, False  # mixed8


MIN_SIZE = min_input_size(list(_windows(aux=False)))  # 75, as keras.applications
AUX_MIN_SIZE = min_input_size(list(_windows(aux=True)))  # 299: mixed7 must be 17x17
DEFAULT_SIZE = 299


def InceptionV3(
    *,
    aux_logits=False,
    dropout=0.2,
    norm="batch",
    norm_epsilon=1e-3,
    norm_momentum=0.9,
    norm_scale=True,
    width_multiplier=1.0,
    name="inception_v3",
    **kwargs,
):
    """Inception v3: a factorized-convolution stem, 11 Inception modules, global pooling.

    Reference: Szegedy, Vanhoucke, Ioffe, Shlens, Wojna. Rethinking the Inception
    Architecture for Computer Vision. CVPR 2016 (https://arxiv.org/abs/1512.00567).

    Args:
        aux_logits: bool, add the auxiliary classifier on mixed7 as a second output
            (named ``aux1``; the main output ``head`` comes first). It needs
            ``include_top=True`` and an input of at least 299x299. Defaults to False.
            ``keras_cnns.models.inference_model`` drops it after training.
        dropout: float, dropout rate on the pooled features before the classifier.
            Defaults to 0.2: the authors' TF training code keeps 80% (keras.applications
            has none, torchvision 0.5).
        norm: ``"batch"`` or ``"sync_batch"``. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3 (TF-slim, keras.applications).
        norm_momentum: float, moving-average momentum. Defaults to 0.9 (torchvision;
            TF-slim trained with 0.9997, keras.applications uses 0.99).
        norm_scale: bool, batch norm learns a scale. Defaults to True; False gives
            keras.applications' InceptionV3 (17,216 fewer parameters).
        width_multiplier: float, width multiplier of every convolution, TF-slim's
            depth_multiplier with min_depth 16 (1.0: the paper's network): each width
            ``d`` becomes ``max(int(d * width_multiplier), 16)``, the auxiliary
            classifier's too. Defaults to 1.0.
        name: model name.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    Examples:

    >>> model = InceptionV3(include_top=False, input_shape=(75, 75, 3))
    >>> model.output_shape
    (None, 1, 1, 2048)
    >>> InceptionV3(include_top=False, input_shape=(75, 75, 3), width_multiplier=0.5).output_shape
    (None, 1, 1, 1024)
    """
    if not isinstance(aux_logits, bool):
        raise ValueError(f"Expected `aux_logits` to be a bool. Received: aux_logits={aux_logits!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"Expected `dropout` to be a float in [0, 1). Received: dropout={dropout!r}")
    width_multiplier = width_multiplier_arg(width_multiplier)
    norm_options = dict(
        norm=norm, norm_epsilon=norm_epsilon, norm_momentum=norm_momentum, norm_scale=norm_scale
    )
    block_options = dict(norm_options, width_multiplier=width_multiplier)

    def features(x):
        size = spatial(x.shape, keras.config.image_data_format())  # the model's: build_model sets it
        if aux_logits and any(d is not None and d < AUX_MIN_SIZE for d in size):
            raise ValueError(
                f"With aux_logits=True, the input must be at least {AUX_MIN_SIZE}x{AUX_MIN_SIZE}: "
                f"the auxiliary classifier needs a 17x17 {AUX_TAP}. "
                f"Received: input_shape={tuple(x.shape[1:])}"
            )
        for layer in STEM:
            if isinstance(layer, Pool):
                x = PaddedMaxPool2D(3, 2, name=layer.name)(x)
            else:
                x = ConvBNAct(
                    scaled_width(layer.filters, width_multiplier),
                    layer.kernel,
                    strides=layer.stride,
                    padding=layer.padding,
                    name=layer.name,
                    **norm_options,
                )(x)
        taps = []
        for i, (block, width) in enumerate(MIXED):
            args = () if width is None else (width,)
            x = block(*args, name=f"mixed{i}", **block_options)(x)
            if f"mixed{i}" == AUX_TAP:
                taps.append(x)
        return (x, taps) if aux_logits else x

    def aux_head(tap, index, num_classes, classifier_activation):
        return InceptionV3Aux(
            num_classes, classifier_activation=classifier_activation, name=f"aux{index}", **block_options
        )(tap)

    return build_model(
        features,
        name=name,
        default_size=DEFAULT_SIZE,
        min_size=MIN_SIZE,
        head=dict(pooling="avg", dropout=dropout),
        **kwargs,
        aux_head=aux_head if aux_logits else None,
    )


#: TF-slim's RMSProp recipe of the Inception papers.
SLIM_RMSPROP = dict(
    optimizer="rmsprop", lr=0.045, momentum=0.9, rmsprop_rho=0.9, rmsprop_epsilon=1.0,
    schedule="exponential", schedule_args=dict(gamma=0.94, every=2), augment="inception",
)
#: Szegedy et al. 2015, section 8.
RECIPE = Recipe(
    **SLIM_RMSPROP, epochs=100, batch_size=32, weight_decay=4e-5, label_smoothing=0.1, dropout=0.2, aux_loss_weight=0.4,
    source="Szegedy et al. 2015, section 8 (RMSProp decay 0.9, epsilon 1.0, lr 0.045 decayed by 0.94 every 2 epochs, batch 32 per replica, label smoothing 0.1)",
    notes="Weight decay 4e-5 and auxiliary weight 0.4 from the authors' TF-slim training code; gradient clipping at 2.0 is not applied.",
)
#: keras.applications.InceptionV3 names few layers: the others pair up in creation order.
KERAS = KerasApplicationsWeights(
    constructor="InceptionV3",
    files=("inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
           "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    md5=("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63"),
    preprocessing=IMAGENET_INCEPTION, rules=((r"predictions", "predictions"),),
    top1=77.9, top1_source="keras.io/api/applications", recognize=recognizer(required=("mixed9_1", "mixed10")),
)


@register_model(
    depth=48,
    paper_error=PaperError(21.2, 5.6, "1 crop", "Abstract, Table 3"),
    paper=(
        "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna. Rethinking the Inception Architecture "
        "for Computer Vision. CVPR 2016"
    ),
    year=2015,
    url="https://arxiv.org/abs/1512.00567",
    default_size=DEFAULT_SIZE,
    min_size=MIN_SIZE,
    aux_min_size=AUX_MIN_SIZE,
    params=23_834_568,
    macs=5.713,
    weights=[KERAS],
    recipe=RECIPE,
    space=INCEPTION_SPACE,
    family_builder=InceptionV3,
    deviations=(
        "The released network (TF-slim, keras.applications, torchvision), not the paper's "
        "Table 1, which disagrees with it: the stem is 1x1 80 then an unpadded 3x3 192 and "
        "3x3/2 max pooling (35x35x192, where Table 1 lists three 3x3 convolutions up to "
        "35x35x288), there are four 17x17 modules (Table 1 says five), and the 35x35 "
        "modules keep a 5x5 branch beside the double 3x3. Batch norm keeps its learned "
        "scale (gamma), as TF-slim's checkpoints and torchvision do; keras.applications "
        "drops it (scale=False: 23,817,352 parameters, 17,216 fewer; norm_scale=False "
        "reproduces it). No conv bias, BN epsilon 1e-3. Pool-branch average pooling is "
        "3x3/1 'same' without counting the padding (TF, Keras; torchvision counts it). "
        "aux_logits=True adds the auxiliary classifier on mixed7 in torchvision's layout "
        "(5x5/3 average pooling, 1x1 128, 5x5 768, FC: 3,326,696 more parameters, "
        "27,161,264 in all, needing a 299x299 input); the paper's 'BN-auxiliary' also "
        "batch-normalizes the auxiliary FC, which neither TF-slim nor torchvision does, so "
        "neither do we. Dropout 0.2 before the classifier (the authors' TF training code). "
        "He-normal initialization instead of truncated normal 0.1."
    ),
    feature_layers=("conv2b", "conv4a", "mixed2", "mixed7", "mixed10"),
)
def inception_v3(*, name="inception_v3", **kwargs):
    """Inception v3 (``aux_logits=True`` adds the auxiliary classifier)."""
    return InceptionV3(name=name, **kwargs)
