"""The blocks of DenseNet (Huang, Liu, van der Maaten, Weinberger, 2016).

Huang et al. Densely Connected Convolutional Networks. CVPR 2017,
https://arxiv.org/abs/1608.06993.

Every convolution is pre-activated: batch normalization and ReLU come before it
("BN-ReLU-Conv", Section 3), so the blocks are built from keras layers and the norm /
activation factories, not from ``ConvBNAct`` (which is conv -> BN -> activation).
Convolutions have no bias, as in the authors' code, torchvision and keras.applications.
"""

import keras
from keras import ops

from keras_cnns.layers._base import (
    ChainBlock,
    dropout_rate,
    make_activation,
    make_norm,
    positive_int,
    register,
    with_channels,
)

__all__ = ["DenseBlock", "DenseLayer", "TransitionBlock"]






def _conv(filters, kernel_size, dtype, name, data_format):
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        data_format=data_format,
        dtype=dtype,
        name=name,
    )


@register
class DenseLayer(ChainBlock):
    """One layer of a dense block: new feature maps concatenated to its input.

    DenseNet-B's composite function (Section 3): BN-ReLU-Conv(1x1) with
    ``bottleneck_width * growth_rate`` channels, then BN-ReLU-Conv(3x3) with
    ``growth_rate`` channels. The ``growth_rate`` new channels are appended to the input,
    so the output has ``input channels + growth_rate`` channels and begins with the input
    itself. ``bottleneck_width=None`` drops the 1x1 bottleneck (plain DenseNet: BN-ReLU-
    Conv(3x3) only). ``dropout`` acts on the new feature maps (torchvision's ``drop_rate``;
    the paper uses 0.2 only for CIFAR without data augmentation).

    Args:
        growth_rate: int, the channels each layer adds (the paper's k).
        bottleneck_width: int or None, the 1x1 bottleneck has
            ``bottleneck_width * growth_rate`` channels. Defaults to 4 (the paper's 4k).
        dropout: float in [0, 1), dropout on the new feature maps. Defaults to 0.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5 (the authors' Torch code, torchvision).
        norm_momentum: float. Defaults to 0.9 (PyTorch's 0.1).
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> DenseLayer(32).compute_output_shape((None, 56, 56, 64))
    (None, 56, 56, 96)
    """

    def __init__(
        self,
        growth_rate,
        bottleneck_width=4,
        dropout=0.0,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.growth_rate = positive_int(growth_rate, "growth_rate")
        if bottleneck_width is not None:
            positive_int(bottleneck_width, "bottleneck_width")
        self.bottleneck_width = bottleneck_width
        self.dropout = dropout_rate(dropout)
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        dtype = self.dtype_policy
        self.norm1 = self.act1 = self.conv1 = None
        if bottleneck_width is not None:
            self.norm1 = make_norm(norm, norm_epsilon, norm_momentum, True, dtype, "norm1", self.data_format)
            self.act1 = make_activation(activation, dtype, "act1")
            self.conv1 = _conv(bottleneck_width * growth_rate, 1, dtype, "conv1", self.data_format)
        self.norm2 = make_norm(norm, norm_epsilon, norm_momentum, True, dtype, "norm2", self.data_format)
        self.act2 = make_activation(activation, dtype, "act2")
        self.conv2 = _conv(growth_rate, 3, dtype, "conv2", self.data_format)
        self.drop = keras.layers.Dropout(self.dropout, dtype=dtype, name="dropout") if self.dropout else None

    def _chain(self):
        return [self.norm1, self.act1, self.conv1, self.norm2, self.act2, self.conv2, self.drop]

    def call(self, inputs):
        return ops.concatenate([inputs, super().call(inputs)], axis=self.channel_axis)

    def compute_output_shape(self, input_shape):
        new = super().compute_output_shape(input_shape)[self.channel_axis]
        channels = input_shape[self.channel_axis]
        return with_channels(input_shape, None if channels is None else channels + new, self.data_format)


@register
class DenseBlock(ChainBlock):
    """A dense block: ``num_layers`` ``DenseLayer`` s, each seeing all earlier outputs.

    On ``c`` input channels the block outputs ``c + num_layers * growth_rate`` channels
    at the input's spatial size. Its layers are named ``block1`` ... (keras.applications
    names them ``conv2_block1`` ... inside the dense block ``conv2``).

    Args:
        num_layers: int, the number of dense layers.
        growth_rate: int, the channels each layer adds. Defaults to 32.
        bottleneck_width: int or None, see ``DenseLayer``. Defaults to 4.
        dropout: float in [0, 1). Defaults to 0.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> DenseBlock(6, growth_rate=32).compute_output_shape((None, 56, 56, 64))
    (None, 56, 56, 256)
    """

    def __init__(
        self,
        num_layers,
        growth_rate=32,
        bottleneck_width=4,
        dropout=0.0,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_layers = positive_int(num_layers, "num_layers")
        self.growth_rate = growth_rate
        self.bottleneck_width = bottleneck_width
        self.dropout = dropout
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        self.dense_layers = [
            DenseLayer(
                growth_rate,
                bottleneck_width=bottleneck_width,
                dropout=dropout,
                norm=norm,
                norm_epsilon=norm_epsilon,
                norm_momentum=norm_momentum,
                activation=activation,
                data_format=self.data_format,
                dtype=self.dtype_policy,
                name=f"block{i + 1}",
            )
            for i in range(num_layers)
        ]

    def _chain(self):
        return self.dense_layers


@register
class TransitionBlock(ChainBlock):
    """A transition layer between dense blocks: BN, ReLU, 1x1 conv, 2x2/2 average pool.

    The convolution keeps ``floor(compression * channels)`` channels (DenseNet-C's
    compression factor theta; 1.0 is the plain DenseNet transition). The pooling is
    unpadded, so odd sizes round down (7 -> 3), as in every implementation. The
    convolution is created in ``build``, since its width depends on the input.

    Args:
        compression: float in (0, 1], the fraction of channels kept. Defaults to 0.5.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> TransitionBlock(0.5).compute_output_shape((None, 56, 56, 256))
    (None, 28, 28, 128)
    """

    def __init__(
        self,
        compression=0.5,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(compression, bool) or not isinstance(compression, (int, float)) or not 0 < compression <= 1:
            raise ValueError(
                f"Expected `compression` to be a float in (0, 1]. Received: compression={compression!r}"
            )
        self.compression = float(compression)
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        dtype = self.dtype_policy
        self.bn = make_norm(norm, norm_epsilon, norm_momentum, True, dtype, "bn", self.data_format)
        self.act = make_activation(activation, dtype, "act")
        self.conv = None
        self.pool = keras.layers.AveragePooling2D(2, strides=2, data_format=self.data_format, dtype=dtype, name="pool")

    def _filters(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(
                f"TransitionBlock needs the number of input channels. Received: input_shape={tuple(input_shape)}"
            )
        filters = int(channels * self.compression)
        if filters < 1:
            raise ValueError(
                f"Expected compression * input channels >= 1, got {self.compression} * {channels}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        return filters

    def _chain(self):
        return [self.bn, self.act, self.conv, self.pool]

    def build(self, input_shape):
        self.conv = _conv(self._filters(input_shape), 1, self.dtype_policy, "conv", self.data_format)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        shape = with_channels(input_shape, self._filters(input_shape), self.data_format)
        return tuple(self.pool.compute_output_shape(shape))
