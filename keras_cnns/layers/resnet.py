"""Residual blocks of ResNet (He et al., 2015) and ResNeXt (Xie et al., 2016)."""

from keras import ops

from keras_cnns.layers._base import Block, build_chain, call_chain, make_activation, output_chain, positive_int, register
from keras_cnns.layers.conv import ConvBNAct

__all__ = ["BasicBlock", "BottleneckBlock"]


class _ResidualBlock(Block):
    """Shared plumbing: residual branch + shortcut, added, then the activation.

    The shortcut is the identity when the shape is unchanged and a 1x1 convolution with
    batch normalization (the paper's option B projection) when the stride or the channel
    count changes; it is created in ``build`` because it depends on the input channels.
    Strided 3x3 convolutions pad 1 on each side, as the reference implementations do.
    """

    def __init__(self, filters, strides, norm, norm_epsilon, norm_momentum, activation, **kwargs):
        super().__init__(**kwargs)
        positive_int(filters, "filters")
        if strides not in (1, 2):
            raise ValueError(f"Expected `strides` to be 1 or 2. Received: strides={strides!r}")
        self.filters = filters
        self.strides = strides
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.activation = activation
        self.shortcut = None
        self.act = make_activation(activation, self.dtype_policy, "act")

    def _conv(self, filters, kernel_size, strides=1, groups=1, activation="same", name=None):
        return ConvBNAct(
            filters,
            kernel_size,
            strides=strides,
            padding=(kernel_size // 2) if strides > 1 else "same",
            groups=groups,
            norm=self.norm,
            norm_epsilon=self.norm_epsilon,
            norm_momentum=self.norm_momentum,
            activation=self.activation if activation == "same" else activation,
            dtype=self.dtype_policy,
            name=name,
        )

    @property
    def out_channels(self):
        return self.filters * self.expansion

    def build(self, input_shape):
        if self.strides != 1 or input_shape[-1] != self.out_channels:
            self.shortcut = self._conv(self.out_channels, 1, self.strides, activation=None, name="shortcut")
            self.shortcut.build(input_shape)
        shape = build_chain(self._branch(), input_shape)
        self.act.build(shape)

    def call(self, inputs):
        shortcut = inputs if self.shortcut is None else self.shortcut(inputs)
        return self.act(ops.add(call_chain(self._branch(), inputs), shortcut))

    def compute_output_shape(self, input_shape):
        return output_chain(self._branch(), input_shape)


@register
class BasicBlock(_ResidualBlock):
    """ResNet's basic block: two 3x3 convolutions and a shortcut (ResNet-18/34).

    Args:
        filters: int, channels of both convolutions and of the output.
        strides: 1 or 2, the stride of the first convolution. Defaults to 1.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> BasicBlock(128, strides=2).compute_output_shape((None, 56, 56, 64))
    (None, 28, 28, 128)
    """

    expansion = 1

    def __init__(
        self,
        filters,
        strides=1,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(filters, strides, norm, norm_epsilon, norm_momentum, activation, **kwargs)
        self.conv1 = self._conv(filters, 3, strides, name="conv1")
        self.conv2 = self._conv(filters, 3, activation=None, name="conv2")

    def _branch(self):
        return [self.conv1, self.conv2]


@register
class BottleneckBlock(_ResidualBlock):
    """ResNet's bottleneck: 1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand, shortcut.

    The output has ``filters * expansion`` channels. ``width`` is the channel count of
    the 3x3 convolution (``filters`` for ResNet; ``groups * width_per_group`` scaled by
    ``filters / 64`` for ResNeXt). The stride sits in the first 1x1 convolution as in the
    paper (ResNet v1); ``stride_in_3x3=True`` moves it to the 3x3 (v1.5, torchvision),
    which changes multiply-adds but not parameters.

    Args:
        filters: int, the bottleneck channels before expansion.
        strides: 1 or 2. Defaults to 1.
        groups: int, the cardinality of the 3x3 convolution. Defaults to 1.
        width: int or None, channels of the 3x3 convolution; None means ``filters``.
        expansion: int, output channels are ``filters * expansion``. Defaults to 4.
        stride_in_3x3: bool. Defaults to False.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> BottleneckBlock(64).compute_output_shape((None, 56, 56, 64))
    (None, 56, 56, 256)
    """

    def __init__(
        self,
        filters,
        strides=1,
        groups=1,
        width=None,
        expansion=4,
        stride_in_3x3=False,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(filters, strides, norm, norm_epsilon, norm_momentum, activation, **kwargs)
        positive_int(expansion, "expansion")
        self.groups = groups
        self.width = width
        self.expansion = expansion
        self.stride_in_3x3 = bool(stride_in_3x3)
        inner = filters if width is None else width
        s1, s3 = (1, strides) if self.stride_in_3x3 else (strides, 1)
        self.conv1 = self._conv(inner, 1, s1, name="conv1")
        self.conv2 = self._conv(inner, 3, s3, groups=groups, name="conv2")
        self.conv3 = self._conv(self.out_channels, 1, activation=None, name="conv3")

    def _branch(self):
        return [self.conv1, self.conv2, self.conv3]
