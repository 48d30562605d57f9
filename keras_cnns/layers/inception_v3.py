"""The Inception v3 modules (Szegedy et al., 2015): 35x35, 17x17 and 8x8 grids, the two
grid reductions and the auxiliary classifier.

Each module is a set of parallel branches of ``ConvBNAct`` units (no conv bias; batch
norm, epsilon 1e-3 as TF-slim and keras.applications) whose outputs are concatenated
on the channels. The widths are those of the released network (TF-slim, keras.applications,
torchvision); only the widths that change between repeats are arguments
(``pool_features`` of the 35x35 module, ``channels_7x7`` of the 17x17 module). Attribute
names follow torchvision's (``branch5x5_1``, ``branch3x3dbl_2``, ...), so weights can be
matched to that port by name. ``width_multiplier`` scales every convolution's width as
TF-slim's ``depth_multiplier`` (``min_depth`` 16); the widths written here are at 1.0.
"""

import keras

from keras_cnns.layers._base import BranchBlock, ChainBlock, Parallel, positive_int, register, spatial
from keras_cnns.layers._base import width_multiplier as width_multiplier_arg
from keras_cnns.layers.conv import ConvOptions
from keras_cnns.layers.head import ClassifierHead
from keras_cnns.layers.pooling import PaddedMaxPool2D

__all__ = ["InceptionV3A", "InceptionV3Aux", "InceptionV3B", "InceptionV3C", "InceptionV3D", "InceptionV3E"]


class _InceptionV3Module(ConvOptions, BranchBlock):
    """Shared plumbing: parallel branches concatenated on the channel axis.

    ``_branches()`` lists the branches in output order. A branch is a list of layers
    applied in sequence; it may end in a ``Parallel`` group (the 8x8 module's 1x3 / 3x1
    split). Subclasses create their children in ``__init__`` in the same order, after
    this ``__init__`` has set ``width_multiplier``, which ``_conv`` applies to every width.
    """

    def __init__(self, norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier, **kwargs):
        super().__init__(**kwargs)
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.norm_scale = norm_scale
        self.activation = activation
        self.width_multiplier = width_multiplier_arg(width_multiplier)

    def _avg_pool(self):
        # 3x3/1 "same" average pooling; padded positions are not counted (TF, Keras).
        return keras.layers.AveragePooling2D(
            3, 1, padding="same", data_format=self.data_format, dtype=self.dtype_policy, name="pool"
        )

    def _max_pool(self):
        return PaddedMaxPool2D(3, 2, data_format=self.data_format, dtype=self.dtype_policy, name="pool")

@register
class InceptionV3A(_InceptionV3Module):
    """The 35x35 module (the paper's Fig. 5, keras.applications' mixed0 to mixed2).

    Branches: 1x1 64; 1x1 48 -> 5x5 64; 1x1 64 -> 3x3 96 -> 3x3 96; 3x3/1 average
    pooling -> 1x1 ``pool_features``. Output channels ``224 + pool_features``, spatial
    size unchanged. (The paper's Fig. 5 factorizes the 5x5 into two 3x3; the released
    network keeps one 5x5 branch beside the double-3x3 branch.)

    Args:
        pool_features: int, channels of the pooling branch (32 in mixed0, 64 after).
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3 (TF-slim, keras.applications).
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool, batch norm learns a scale. Defaults to True.
        activation: str. Defaults to ``"relu"``.
        width_multiplier: float, scales every convolution's width as TF-slim's
            ``depth_multiplier`` with ``min_depth`` 16: ``max(int(width *
            width_multiplier), 16)``. Defaults to 1.0 (the widths above).

    Examples:

    >>> InceptionV3A(32).compute_output_shape((None, 35, 35, 192))
    (None, 35, 35, 256)
    >>> InceptionV3A(32, width_multiplier=0.5).compute_output_shape((None, 35, 35, 192))
    (None, 35, 35, 128)
    """

    def __init__(
        self,
        pool_features,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        width_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier, **kwargs)
        self.pool_features = positive_int(pool_features, "pool_features")
        self.branch1x1 = self._conv(64, 1, name="branch1x1")
        self.branch5x5_1 = self._conv(48, 1, name="branch5x5_1")
        self.branch5x5_2 = self._conv(64, 5, name="branch5x5_2")
        self.branch3x3dbl_1 = self._conv(64, 1, name="branch3x3dbl_1")
        self.branch3x3dbl_2 = self._conv(96, 3, name="branch3x3dbl_2")
        self.branch3x3dbl_3 = self._conv(96, 3, name="branch3x3dbl_3")
        self.pool = self._avg_pool()
        self.branch_pool = self._conv(pool_features, 1, name="branch_pool")

    def _branches(self):
        return [
            [self.branch1x1],
            [self.branch5x5_1, self.branch5x5_2],
            [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3],
            [self.pool, self.branch_pool],
        ]


@register
class InceptionV3B(_InceptionV3Module):
    """The first grid reduction, 35x35 -> 17x17 (the paper's Fig. 10, mixed3).

    Branches: 3x3/2 384; 1x1 64 -> 3x3 96 -> 3x3/2 96; 3x3/2 max pooling. The strided
    layers are unpadded ("valid"). Output channels ``480 + input channels``.

    Args:
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3.
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool. Defaults to True.
        activation: str. Defaults to ``"relu"``.
        width_multiplier: float, scales every convolution's width as TF-slim's
            ``depth_multiplier`` with ``min_depth`` 16: ``max(int(width *
            width_multiplier), 16)``. Defaults to 1.0 (the widths above).

    Examples:

    >>> InceptionV3B().compute_output_shape((None, 35, 35, 288))
    (None, 17, 17, 768)
    """

    def __init__(
        self,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        width_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier, **kwargs)
        self.branch3x3 = self._conv(384, 3, strides=2, padding="valid", name="branch3x3")
        self.branch3x3dbl_1 = self._conv(64, 1, name="branch3x3dbl_1")
        self.branch3x3dbl_2 = self._conv(96, 3, name="branch3x3dbl_2")
        self.branch3x3dbl_3 = self._conv(96, 3, strides=2, padding="valid", name="branch3x3dbl_3")
        self.pool = self._max_pool()

    def _branches(self):
        return [
            [self.branch3x3],
            [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3],
            [self.pool],
        ]


@register
class InceptionV3C(_InceptionV3Module):
    """The 17x17 module with factorized 7x7 convolutions (Fig. 6, mixed4 to mixed7).

    Branches: 1x1 192; 1x1 c7 -> 1x7 c7 -> 7x1 192; 1x1 c7 -> 7x1 c7 -> 1x7 c7 -> 7x1 c7
    -> 1x7 192; 3x3/1 average pooling -> 1x1 192. Output 768 channels, spatial size
    unchanged.

    Args:
        channels_7x7: int, the width c7 of the factorized branches (128 in mixed4, 160 in
            mixed5 and mixed6, 192 in mixed7).
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3.
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool. Defaults to True.
        activation: str. Defaults to ``"relu"``.
        width_multiplier: float, scales every convolution's width as TF-slim's
            ``depth_multiplier`` with ``min_depth`` 16: ``max(int(width *
            width_multiplier), 16)``. Defaults to 1.0 (the widths above).

    Examples:

    >>> InceptionV3C(128).compute_output_shape((None, 17, 17, 768))
    (None, 17, 17, 768)
    """

    def __init__(
        self,
        channels_7x7,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        width_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier, **kwargs)
        c7 = self.channels_7x7 = positive_int(channels_7x7, "channels_7x7")
        self.branch1x1 = self._conv(192, 1, name="branch1x1")
        self.branch7x7_1 = self._conv(c7, 1, name="branch7x7_1")
        self.branch7x7_2 = self._conv(c7, (1, 7), name="branch7x7_2")
        self.branch7x7_3 = self._conv(192, (7, 1), name="branch7x7_3")
        self.branch7x7dbl_1 = self._conv(c7, 1, name="branch7x7dbl_1")
        self.branch7x7dbl_2 = self._conv(c7, (7, 1), name="branch7x7dbl_2")
        self.branch7x7dbl_3 = self._conv(c7, (1, 7), name="branch7x7dbl_3")
        self.branch7x7dbl_4 = self._conv(c7, (7, 1), name="branch7x7dbl_4")
        self.branch7x7dbl_5 = self._conv(192, (1, 7), name="branch7x7dbl_5")
        self.pool = self._avg_pool()
        self.branch_pool = self._conv(192, 1, name="branch_pool")

    def _branches(self):
        return [
            [self.branch1x1],
            [self.branch7x7_1, self.branch7x7_2, self.branch7x7_3],
            [
                self.branch7x7dbl_1,
                self.branch7x7dbl_2,
                self.branch7x7dbl_3,
                self.branch7x7dbl_4,
                self.branch7x7dbl_5,
            ],
            [self.pool, self.branch_pool],
        ]


@register
class InceptionV3D(_InceptionV3Module):
    """The second grid reduction, 17x17 -> 8x8 (mixed8).

    Branches: 1x1 192 -> 3x3/2 320; 1x1 192 -> 1x7 192 -> 7x1 192 -> 3x3/2 192; 3x3/2
    max pooling. The strided layers are unpadded. Output channels ``512 + input
    channels``.

    Args:
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3.
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool. Defaults to True.
        activation: str. Defaults to ``"relu"``.
        width_multiplier: float, scales every convolution's width as TF-slim's
            ``depth_multiplier`` with ``min_depth`` 16: ``max(int(width *
            width_multiplier), 16)``. Defaults to 1.0 (the widths above).

    Examples:

    >>> InceptionV3D().compute_output_shape((None, 17, 17, 768))
    (None, 8, 8, 1280)
    """

    def __init__(
        self,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        width_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier, **kwargs)
        self.branch3x3_1 = self._conv(192, 1, name="branch3x3_1")
        self.branch3x3_2 = self._conv(320, 3, strides=2, padding="valid", name="branch3x3_2")
        self.branch7x7x3_1 = self._conv(192, 1, name="branch7x7x3_1")
        self.branch7x7x3_2 = self._conv(192, (1, 7), name="branch7x7x3_2")
        self.branch7x7x3_3 = self._conv(192, (7, 1), name="branch7x7x3_3")
        self.branch7x7x3_4 = self._conv(192, 3, strides=2, padding="valid", name="branch7x7x3_4")
        self.pool = self._max_pool()

    def _branches(self):
        return [
            [self.branch3x3_1, self.branch3x3_2],
            [self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4],
            [self.pool],
        ]


@register
class InceptionV3E(_InceptionV3Module):
    """The 8x8 module with expanded filter banks (the paper's Fig. 7, mixed9, mixed10).

    Branches: 1x1 320; 1x1 384 -> [1x3 384, 3x1 384]; 1x1 448 -> 3x3 384 -> [1x3 384,
    3x1 384]; 3x3/1 average pooling -> 1x1 192. The bracketed pairs run in parallel and
    are concatenated. Output 2048 channels, spatial size unchanged.

    Args:
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3.
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool. Defaults to True.
        activation: str. Defaults to ``"relu"``.
        width_multiplier: float, scales every convolution's width as TF-slim's
            ``depth_multiplier`` with ``min_depth`` 16: ``max(int(width *
            width_multiplier), 16)``. Defaults to 1.0 (the widths above).

    Examples:

    >>> InceptionV3E().compute_output_shape((None, 8, 8, 1280))
    (None, 8, 8, 2048)
    """

    def __init__(
        self,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        width_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier, **kwargs)
        self.branch1x1 = self._conv(320, 1, name="branch1x1")
        self.branch3x3_1 = self._conv(384, 1, name="branch3x3_1")
        self.branch3x3_2a = self._conv(384, (1, 3), name="branch3x3_2a")
        self.branch3x3_2b = self._conv(384, (3, 1), name="branch3x3_2b")
        self.branch3x3dbl_1 = self._conv(448, 1, name="branch3x3dbl_1")
        self.branch3x3dbl_2 = self._conv(384, 3, name="branch3x3dbl_2")
        self.branch3x3dbl_3a = self._conv(384, (1, 3), name="branch3x3dbl_3a")
        self.branch3x3dbl_3b = self._conv(384, (3, 1), name="branch3x3dbl_3b")
        self.pool = self._avg_pool()
        self.branch_pool = self._conv(192, 1, name="branch_pool")

    def _branches(self):
        return [
            [self.branch1x1],
            [self.branch3x3_1, Parallel([self.branch3x3_2a], [self.branch3x3_2b], axis=self.channel_axis)],
            [
                self.branch3x3dbl_1,
                self.branch3x3dbl_2,
                Parallel([self.branch3x3dbl_3a], [self.branch3x3dbl_3b], axis=self.channel_axis),
            ],
            [self.pool, self.branch_pool],
        ]


@register
class InceptionV3Aux(ConvOptions, ChainBlock):
    """The auxiliary classifier on the 17x17 grid, in torchvision's layout.

    5x5/3 average pooling (unpadded), 1x1 convolution 128, 5x5 convolution 768
    (unpadded), each with batch norm and ReLU, then a ``ClassifierHead``: global average
    pooling (an identity on the 1x1 map a 17x17 input gives), the fully connected layer
    and the classifier activation, in float32. The paper (section 4) uses it as a
    regularizer during training only. Needs an input of at least 17x17.

    Args:
        num_classes: int, number of classes.
        classifier_activation: activation of the predictions, or None for logits.
            Defaults to ``"softmax"``.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3.
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool. Defaults to True.
        activation: str, activation of the convolutions. Defaults to ``"relu"``.
        width_multiplier: float, scales the two convolutions' widths (128 and 768) as
            TF-slim's ``depth_multiplier`` with ``min_depth`` 16, as its auxiliary logits
            do; the classifier keeps ``num_classes``. Defaults to 1.0.

    Examples:

    >>> InceptionV3Aux(1000).compute_output_shape((None, 17, 17, 768))
    (None, 1000)
    """

    min_size = 17

    def __init__(
        self,
        num_classes,
        classifier_activation="softmax",
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        width_multiplier=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = positive_int(num_classes, "num_classes")
        self.classifier_activation = classifier_activation
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.norm_scale = norm_scale
        self.activation = activation
        self.width_multiplier = width_multiplier_arg(width_multiplier)
        self.pool = keras.layers.AveragePooling2D(
            5, 3, data_format=self.data_format, dtype=self.dtype_policy, name="pool"
        )
        self.conv0 = self._conv(128, 1, name="conv0")
        self.conv1 = self._conv(768, 5, padding="valid", name="conv1")
        self.head = ClassifierHead(
            num_classes, classifier_activation=classifier_activation, data_format=self.data_format,
            dtype=self.dtype_policy, name="head",
        )

    def _chain(self):
        return [self.pool, self.conv0, self.conv1, self.head]

    def build(self, input_shape):
        if any(d is not None and d < self.min_size for d in spatial(input_shape, self.data_format)):
            raise ValueError(
                f"The auxiliary classifier needs an input of at least {self.min_size}x"
                f"{self.min_size}. Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)
