"""Blocks of MobileNet v1 (Howard et al., 2017) and MobileNetV2 (Sandler et al., 2018).

Both are built around a 3x3 depthwise convolution (``keras.layers.DepthwiseConv2D``: one
filter per input channel) followed by batch normalization. The padding of the strided
depthwise convolution follows keras.applications, so weights transfer exactly:
MobileNet v1 pads one row and column at the bottom and right, then convolves "valid"
(the same as TF "same" at even sizes, one pixel fewer at odd sizes); MobileNetV2 uses
TF "same" (what keras.applications' ``correct_pad`` computes for a known input size).
"""

import keras
from keras import ops

from keras_cnns.layers._base import (
    NORMALIZATIONS,
    Block,
    ChainBlock,
    build_chain,
    call_chain,
    check_choice,
    layout,
    make_activation,
    make_norm,
    positive_int,
    register,
    spatial,
)
from keras_cnns.layers.conv import ConvBNAct

__all__ = ["DepthwiseSeparableBlock", "InvertedResidualBlock"]




def _check_strides(strides):
    if strides not in (1, 2):
        raise ValueError(f"Expected `strides` to be 1 or 2. Received: strides={strides!r}")


def _depthwise(block, strides, padding, depth_multiplier=1):
    """The depthwise convolution, its batch norm and its activation (None if absent)."""
    conv = keras.layers.DepthwiseConv2D(
        3,
        strides=strides,
        padding=padding,
        depth_multiplier=depth_multiplier,
        use_bias=False,
        depthwise_initializer="he_normal",
        data_format=block.data_format,
        dtype=block.dtype_policy,
        name="depthwise",
    )
    bn = make_norm(
        block.norm, block.norm_epsilon, block.norm_momentum, True, block.dtype_policy, "depthwise_bn", block.data_format
    )
    act = make_activation(block.activation, block.dtype_policy, "depthwise_act")
    return conv, bn, act


@register
class DepthwiseSeparableBlock(ChainBlock):
    """MobileNet v1's depthwise separable convolution (Howard et al., 2017, Fig. 3).

    A 3x3 depthwise convolution with batch norm and ReLU6, then a 1x1 pointwise
    convolution with batch norm and ReLU6; no convolution has a bias. With stride 2 the
    input is first padded by one row and one column at the bottom and right and the
    depthwise convolution is "valid", as keras.applications' ``MobileNet`` does.

    Reference: Howard et al. MobileNets: Efficient Convolutional Neural Networks for
    Mobile Vision Applications. arXiv:1704.04861, 2017.

    Args:
        filters: int, output channels of the pointwise convolution.
        strides: 1 or 2, the stride of the depthwise convolution. Defaults to 1.
        depth_multiplier: int, depthwise output channels per input channel (Keras'
            ``depth_multiplier``). Defaults to 1.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3 (TF-slim, keras.applications).
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu6"``.

    Examples:

    >>> DepthwiseSeparableBlock(128, strides=2).compute_output_shape((None, 112, 112, 64))
    (None, 56, 56, 128)
    """

    def __init__(
        self,
        filters,
        strides=1,
        depth_multiplier=1,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        activation="relu6",
        **kwargs,
    ):
        super().__init__(**kwargs)
        positive_int(filters, "filters")
        _check_strides(strides)
        positive_int(depth_multiplier, "depth_multiplier")
        self.filters = filters
        self.strides = strides
        self.depth_multiplier = depth_multiplier
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        self.pad = (
            keras.layers.ZeroPadding2D(
                ((0, 1), (0, 1)), data_format=self.data_format, dtype=self.dtype_policy, name="pad"
            )
            if strides == 2
            else None
        )
        self.depthwise, self.depthwise_bn, self.depthwise_act = _depthwise(
            self, strides, "valid" if strides == 2 else "same", depth_multiplier
        )
        self.pointwise = ConvBNAct(
            filters,
            1,
            norm=norm,
            norm_epsilon=norm_epsilon,
            norm_momentum=norm_momentum,
            activation=activation,
            data_format=self.data_format,
            dtype=self.dtype_policy,
            name="pointwise",
        )

    def _chain(self):
        return [self.pad, self.depthwise, self.depthwise_bn, self.depthwise_act, self.pointwise]


@register
class InvertedResidualBlock(Block):
    """MobileNetV2's inverted residual with a linear bottleneck (Sandler et al., Table 1).

    A 1x1 expansion to ``expansion * input channels`` with batch norm and ReLU6 (left out
    when ``expansion`` is 1), a 3x3 depthwise convolution with batch norm and ReLU6, and a
    linear 1x1 projection to ``filters`` with batch norm and no activation. The input is
    added to the output when the stride is 1 and the channel count is unchanged. The
    strided depthwise convolution pads TF "same", which is keras.applications'
    ``correct_pad`` for a 3x3 kernel at stride 2.

    The expansion width depends on the input channels, so every child is created in
    ``build``.

    Reference: Sandler et al. MobileNetV2: Inverted Residuals and Linear Bottlenecks.
    CVPR 2018, arXiv:1801.04381.

    Args:
        filters: int, output channels of the projection.
        strides: 1 or 2, the stride of the depthwise convolution. Defaults to 1.
        expansion: int, the expansion factor ``t``. Defaults to 6.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3 (TF-slim, keras.applications).
        norm_momentum: float. Defaults to 0.9.
        activation: str, the activation after expansion and depthwise convolution.
            Defaults to ``"relu6"``.

    Examples:

    >>> InvertedResidualBlock(24, strides=2).compute_output_shape((None, 112, 112, 16))
    (None, 56, 56, 24)
    """

    def __init__(
        self,
        filters,
        strides=1,
        expansion=6,
        norm="batch",
        norm_epsilon=1e-3,
        norm_momentum=0.9,
        activation="relu6",
        **kwargs,
    ):
        super().__init__(**kwargs)
        positive_int(filters, "filters")
        _check_strides(strides)
        positive_int(expansion, "expansion")
        check_choice(norm, "norm", NORMALIZATIONS)
        keras.activations.get(activation)  # raises early on an unknown name
        self.filters = filters
        self.strides = strides
        self.expansion = expansion
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        self._residual = None

    def _pointwise(self, filters, activation, name):
        return ConvBNAct(
            filters,
            1,
            norm=self.norm,
            norm_epsilon=self.norm_epsilon,
            norm_momentum=self.norm_momentum,
            activation=activation,
            data_format=self.data_format,
            dtype=self.dtype_policy,
            name=name,
        )

    def _chain(self):
        return [self.expand, self.depthwise, self.depthwise_bn, self.depthwise_act, self.project]

    def build(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(f"The number of input channels must be known. Received: input_shape={tuple(input_shape)}")
        # Children in call order, so weights are listed as keras.applications lists them.
        self.expand = (
            self._pointwise(self.expansion * channels, self.activation, "expand") if self.expansion > 1 else None
        )
        self.depthwise, self.depthwise_bn, self.depthwise_act = _depthwise(self, self.strides, "same")
        self.project = self._pointwise(self.filters, None, "project")
        self._residual = self.strides == 1 and channels == self.filters
        build_chain(self._chain(), input_shape)

    def call(self, inputs):
        x = call_chain(self._chain(), inputs)
        return ops.add(inputs, x) if self._residual else x

    def compute_output_shape(self, input_shape):
        # "same" padding: ceil(size / stride).
        height, width = (None if d is None else -(-d // self.strides) for d in spatial(input_shape, self.data_format))
        return tuple(layout(input_shape[0], height, width, self.filters, self.data_format))
