"""The Inception modules of GoogLeNet (Szegedy et al., 2014) and BN-Inception (Ioffe and
Szegedy, 2015), and GoogLeNet's auxiliary classifier.

A module applies parallel branches to the same input and concatenates their outputs on
the channel axis. Attribute names follow the Caffe layer names of bvlc_googlenet and of
the BN-Inception port (``branch3x3_reduce`` for ``inception_3a/3x3_reduce``, ...), so
weights can be matched to those models by name.
"""

import keras

from keras_cnns.layers._base import BranchBlock, ChainBlock, check_choice, positive_int, register, spatial
from keras_cnns.layers.conv import ConvBNAct, ConvOptions
from keras_cnns.layers.head import ClassifierHead
from keras_cnns.layers.pooling import PaddedMaxPool2D

__all__ = ["BNInceptionModule", "InceptionAux", "InceptionModule"]




class _Branches(ConvOptions, BranchBlock):
    """Inception modules: parallel branches of ``ConvBNAct`` units sharing the options."""



@register
class InceptionModule(_Branches):
    """GoogLeNet's Inception module with dimension reductions (the paper's Figure 2b).

    Szegedy et al. Going Deeper with Convolutions. CVPR 2015
    (https://arxiv.org/abs/1409.4842). Four branches: 1x1; 1x1 reduction -> 3x3;
    1x1 reduction -> 5x5; 3x3/1 max pooling (padded by 1) -> 1x1 projection. Every
    convolution is followed by ReLU; the spatial size is unchanged and the output has
    ``filters_1x1 + filters_3x3 + filters_5x5 + filters_pool_proj`` channels. The six
    widths are the columns of the paper's Table 1. The paper's convolutions have a bias
    and no batch normalization (the defaults here).

    Args:
        filters_1x1: int, the 1x1 branch ("#1x1").
        filters_3x3_reduce: int, the 1x1 before the 3x3 ("#3x3 reduce").
        filters_3x3: int, the 3x3 convolution ("#3x3").
        filters_5x5_reduce: int, the 1x1 before the 5x5 ("#5x5 reduce").
        filters_5x5: int, the 5x5 convolution ("#5x5").
        filters_pool_proj: int, the 1x1 after the max pooling ("pool proj").
        kernel_5x5: int, the kernel of the "5x5" convolution. Defaults to 5, the paper's;
            torchvision's GoogLeNet has 3 there (pytorch/vision issue #906), as the
            TF-slim weights it ships were trained with.
        use_bias: bool, convolution bias. Defaults to True.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to None.
        norm_epsilon: float, batch-norm epsilon. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> InceptionModule(64, 96, 128, 16, 32, 32).compute_output_shape((None, 28, 28, 192))
    (None, 28, 28, 256)
    """

    def __init__(
        self,
        filters_1x1,
        filters_3x3_reduce,
        filters_3x3,
        filters_5x5_reduce,
        filters_5x5,
        filters_pool_proj,
        kernel_5x5=5,
        use_bias=True,
        norm=None,
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters_1x1 = positive_int(filters_1x1, "filters_1x1")
        self.filters_3x3_reduce = positive_int(filters_3x3_reduce, "filters_3x3_reduce")
        self.filters_3x3 = positive_int(filters_3x3, "filters_3x3")
        self.filters_5x5_reduce = positive_int(filters_5x5_reduce, "filters_5x5_reduce")
        self.filters_5x5 = positive_int(filters_5x5, "filters_5x5")
        self.filters_pool_proj = positive_int(filters_pool_proj, "filters_pool_proj")
        self.kernel_5x5 = positive_int(kernel_5x5, "kernel_5x5")
        if kernel_5x5 % 2 == 0:
            raise ValueError(f"Expected `kernel_5x5` to be odd (the branch keeps the size). Received: kernel_5x5={kernel_5x5}")
        self.use_bias = use_bias
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        self.branch1x1 = self._conv(filters_1x1, 1, name="branch1x1")
        self.branch3x3_reduce = self._conv(filters_3x3_reduce, 1, name="branch3x3_reduce")
        self.branch3x3 = self._conv(filters_3x3, 3, name="branch3x3")
        self.branch5x5_reduce = self._conv(filters_5x5_reduce, 1, name="branch5x5_reduce")
        self.branch5x5 = self._conv(filters_5x5, kernel_5x5, name="branch5x5")
        self.pool = PaddedMaxPool2D(3, 1, padding=1, data_format=self.data_format, dtype=self.dtype_policy, name="pool")
        self.pool_proj = self._conv(filters_pool_proj, 1, name="pool_proj")

    def _branches(self):
        return [
            [self.branch1x1],
            [self.branch3x3_reduce, self.branch3x3],
            [self.branch5x5_reduce, self.branch5x5],
            [self.pool, self.pool_proj],
        ]


@register
class BNInceptionModule(_Branches):
    """BN-Inception's module (Ioffe and Szegedy, 2015, Figure 5), and its reduction form.

    Ioffe, Szegedy. Batch Normalization: Accelerating Deep Network Training by Reducing
    Internal Covariate Shift. ICML 2015 (https://arxiv.org/abs/1502.03167). The 5x5
    branch of GoogLeNet's module becomes two stacked 3x3 convolutions; every
    convolution is followed by batch normalization and ReLU.

    With ``strides=1`` the branches are 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3; 3x3/1
    average or max pooling (padded by 1) -> 1x1 projection. The average pooling counts
    the zero padding in its divisor, as Caffe's (the BN-Inception port's
    ``count_include_pad=True``).

    With ``strides=2`` (modules 3c and 4e, the grid reductions) there is no 1x1 branch,
    the last 3x3 of each convolution branch has stride 2, and the 3x3/2 max-pooled input
    passes through unprojected: pass ``filters_1x1=0``, ``filters_pool_proj=0`` and
    ``pool="max"``, as the zeros of Figure 5. The strided convolutions and the pooling
    pad 1 on each side, so the branches agree on the output size (``ceil(size / 2)``)
    for any input size. ``ceil_mode=True`` makes the pooling the Caffe port's: unpadded,
    rounding its output size up, which agrees with the convolutions (other values, the
    same size) only at even input sizes.

    Args:
        filters_1x1: int, the 1x1 branch ("#1x1"); 0 for the reduction.
        filters_3x3_reduce: int, the 1x1 before the 3x3 ("#3x3 reduce").
        filters_3x3: int, the 3x3 convolution ("#3x3").
        filters_double_3x3_reduce: int, the 1x1 before the two 3x3 ("double #3x3 reduce").
        filters_double_3x3: int, both 3x3 of the double branch ("double #3x3").
        filters_pool_proj: int, the 1x1 after the pooling ("Pool +proj"); 0 for the
            reduction's pass-through.
        pool: ``"avg"`` or ``"max"``, the pooling of the fourth branch. Defaults to
            ``"avg"``.
        strides: 1, or 2 for the reduction form. Defaults to 1.
        ceil_mode: bool, the reduction's pass-through 3x3/2 max pooling is unpadded
            and rounds up (Cadene's port of the Caffe model) instead of padding 1; needs
            ``strides=2`` and even input sizes. Defaults to False.
        use_bias: bool, convolution bias. Defaults to False (batch norm follows).
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5 (the Caffe port's).
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> BNInceptionModule(64, 64, 64, 64, 96, 32).compute_output_shape((None, 28, 28, 192))
    (None, 28, 28, 256)
    >>> BNInceptionModule(0, 128, 160, 64, 96, 0, pool="max", strides=2).compute_output_shape(
    ...     (None, 28, 28, 320))
    (None, 14, 14, 576)
    >>> BNInceptionModule(0, 128, 160, 64, 96, 0, pool="max", strides=2, ceil_mode=True).compute_output_shape(
    ...     (None, 28, 28, 320))
    (None, 14, 14, 576)
    """

    def __init__(
        self,
        filters_1x1,
        filters_3x3_reduce,
        filters_3x3,
        filters_double_3x3_reduce,
        filters_double_3x3,
        filters_pool_proj,
        pool="avg",
        strides=1,
        ceil_mode=False,
        use_bias=False,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice(pool, "pool", ("avg", "max"))
        if strides not in (1, 2):
            raise ValueError(f"Expected `strides` to be 1 or 2. Received: strides={strides!r}")
        reduction = strides == 2
        if ceil_mode and not reduction:
            raise ValueError(
                "ceil_mode is the stride-2 (grid reduction) module's pooling option. "
                f"Received: ceil_mode={ceil_mode!r}, strides={strides!r}"
            )
        if reduction and (filters_1x1 != 0 or filters_pool_proj != 0 or pool != "max"):
            raise ValueError(
                "The stride-2 (grid reduction) module has no 1x1 branch and passes its "
                "max-pooled input through: expected filters_1x1=0, filters_pool_proj=0 "
                f"and pool='max'. Received: filters_1x1={filters_1x1!r}, "
                f"filters_pool_proj={filters_pool_proj!r}, pool={pool!r}"
            )
        self.filters_1x1 = positive_int(filters_1x1, "filters_1x1", allow_zero=reduction)
        self.filters_3x3_reduce = positive_int(filters_3x3_reduce, "filters_3x3_reduce")
        self.filters_3x3 = positive_int(filters_3x3, "filters_3x3")
        self.filters_double_3x3_reduce = positive_int(filters_double_3x3_reduce, "filters_double_3x3_reduce")
        self.filters_double_3x3 = positive_int(filters_double_3x3, "filters_double_3x3")
        self.filters_pool_proj = positive_int(filters_pool_proj, "filters_pool_proj", allow_zero=reduction)
        self.pool = pool
        self.strides = strides
        self.ceil_mode = bool(ceil_mode)
        self.use_bias = use_bias
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation

        # Strided 3x3 convolutions pad 1 on each side, as the Caffe port.
        last = dict(strides=2, padding=1) if reduction else {}
        self.branch1x1 = None if reduction else self._conv(filters_1x1, 1, name="branch1x1")
        self.branch3x3_reduce = self._conv(filters_3x3_reduce, 1, name="branch3x3_reduce")
        self.branch3x3 = self._conv(filters_3x3, 3, name="branch3x3", **last)
        self.branch_double_3x3_reduce = self._conv(
            filters_double_3x3_reduce, 1, name="branch_double_3x3_reduce"
        )
        self.branch_double_3x3_1 = self._conv(filters_double_3x3, 3, name="branch_double_3x3_1")
        self.branch_double_3x3_2 = self._conv(filters_double_3x3, 3, name="branch_double_3x3_2", **last)
        dtype = self.dtype_policy
        if pool == "max":
            self.pool_pad = None
            padding = 0 if self.ceil_mode else 1
            self.pool_layer = PaddedMaxPool2D(
                3, strides, padding=padding, ceil_mode=self.ceil_mode, data_format=self.data_format, dtype=dtype,
                name="pool",
            )
        else:
            # Zero padding, then unpadded pooling: the padding counts in the average.
            self.pool_pad = keras.layers.ZeroPadding2D(1, data_format=self.data_format, dtype=dtype, name="pool_pad")
            self.pool_layer = keras.layers.AveragePooling2D(
                3, 1, data_format=self.data_format, dtype=dtype, name="pool"
            )
        self.pool_proj = None if reduction else self._conv(filters_pool_proj, 1, name="pool_proj")

    def _branches(self):
        branches = [
            [self.branch3x3_reduce, self.branch3x3],
            [self.branch_double_3x3_reduce, self.branch_double_3x3_1, self.branch_double_3x3_2],
            [self.pool_pad, self.pool_layer, self.pool_proj],
        ]
        return branches if self.branch1x1 is None else [[self.branch1x1], *branches]

    def build(self, input_shape):
        odd = [size for size in spatial(input_shape, self.data_format) if size is not None and size % 2]
        if self.ceil_mode and odd:
            raise ValueError(
                "With ceil_mode=True the pass-through pooling gives floor(size / 2) where the strided "
                "convolutions give ceil(size / 2) at odd sizes: the module needs even input sizes. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)


@register
class InceptionAux(ChainBlock):
    """GoogLeNet's auxiliary classifier (Szegedy et al., 2014, section 5).

    5x5/3 average pooling (unpadded: 4x4 on the 14x14 maps of modules 4a and 4d at a
    224 input), a 1x1 convolution with 128 filters and ReLU, a fully connected layer of
    1024 units with ReLU, dropout 0.7, and the linear classifier with its activation,
    computed in float32. The paper adds its loss with weight 0.3 during training and
    discards it at inference. The fully connected layer sees the flattened pooled map,
    so the input size must be static and at least 5x5.

    Args:
        num_classes: int, number of classes.
        classifier_activation: activation of the predictions, or None for logits.
            Defaults to ``"softmax"``.
        filters: int, channels of the 1x1 convolution. Defaults to 128.
        units: int, width of the fully connected layer. Defaults to 1024.
        dropout: float, dropout rate after it. Defaults to 0.7.
        use_bias: bool, convolution bias. Defaults to True (the paper).
        norm: normalization after the convolution, or None. Defaults to None.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str, activation of the convolution and the hidden layer.
            Defaults to ``"relu"``.

    Examples:

    >>> InceptionAux(1000).compute_output_shape((None, 14, 14, 512))
    (None, 1000)
    """

    pool_size = 5

    def __init__(
        self,
        num_classes,
        classifier_activation="softmax",
        filters=128,
        units=1024,
        dropout=0.7,
        use_bias=True,
        norm=None,
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = positive_int(num_classes, "num_classes")
        self.classifier_activation = classifier_activation
        self.filters = positive_int(filters, "filters")
        self.units = positive_int(units, "units")
        self.dropout = dropout
        self.use_bias = use_bias
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        dtype = self.dtype_policy
        self.pool = keras.layers.AveragePooling2D(
            self.pool_size, 3, data_format=self.data_format, dtype=dtype, name="pool"
        )
        self.conv = ConvBNAct(
            filters,
            1,
            use_bias=use_bias,
            norm=norm,
            norm_epsilon=norm_epsilon,
            norm_momentum=norm_momentum,
            activation=activation,
            data_format=self.data_format,
            dtype=dtype,
            name="conv",
        )
        self.head = ClassifierHead(
            num_classes,
            pooling="flatten",
            hidden_units=(units,),
            dropout=dropout,
            activation=activation,
            classifier_activation=classifier_activation,
            data_format=self.data_format,
            dtype=dtype,
            name="head",
        )

    def _chain(self):
        return [self.pool, self.conv, self.head]

    def build(self, input_shape):
        size = spatial(input_shape, self.data_format)
        if None in size or min(size) < self.pool_size:
            raise ValueError(
                "The auxiliary classifier flattens its pooled map: it needs a static input "
                f"of at least {self.pool_size}x{self.pool_size}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)
