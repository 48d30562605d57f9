"""Residual blocks of ResNet (He et al., 2015) and ResNeXt (Xie et al., 2016)."""

from keras import ops

from keras_cnns.layers._base import (
    Block,
    build_chain,
    call_chain,
    check_choice,
    make_activation,
    output_chain,
    pad_channels,
    positive_int,
    register,
)
from keras_cnns.layers.conv import ConvBNAct

__all__ = ["BasicBlock", "BottleneckBlock"]

#: The shortcuts of a block whose shape changes (He et al. 2015, section 3.3): option B's
#: 1x1 projection, option A's parameter-free identity (subsampled by the stride,
#: zero-padded channels), or none at all (the paper's "plain" networks).
SHORTCUTS = ("projection", "zero_pad", None)


class _ResidualBlock(Block):
    """Shared plumbing: residual branch + shortcut, added, then the activation.

    The shortcut is the identity when the shape is unchanged. When the stride or the
    channel count changes it is, by ``shortcut``, a 1x1 convolution with batch
    normalization (``"projection"``, the paper's option B, created in ``build`` because it
    depends on the input channels) or the input sampled every ``strides`` pixels from the
    top-left one, its new channels zeros after the input's (``"zero_pad"``, option A, as
    fb.resnet.torch's shortcutType A: no parameters). ``shortcut=None`` leaves the
    shortcut out: the block of a plain network, with the same weights. Strided 3x3
    convolutions pad 1 on each side, as the reference implementations do.
    """

    def __init__(self, filters, strides, shortcut, norm, norm_epsilon, norm_momentum, activation, **kwargs):
        super().__init__(**kwargs)
        positive_int(filters, "filters")
        if strides not in (1, 2):
            raise ValueError(f"Expected `strides` to be 1 or 2. Received: strides={strides!r}")
        check_choice(shortcut, "shortcut", SHORTCUTS)
        self.filters = filters
        self.strides = strides
        self.shortcut_type = shortcut
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
            data_format=self.data_format,
            dtype=self.dtype_policy,
            name=name,
        )

    @property
    def out_channels(self):
        return self.filters * self.expansion

    def get_config(self):
        config = super().get_config()
        config["shortcut"] = self.shortcut_type  # ``self.shortcut`` is the projection layer (saved files' path)
        return config

    def build(self, input_shape):
        channels = input_shape[self.channel_axis]
        changes = self.strides != 1 or channels != self.out_channels
        if changes and self.shortcut_type == "projection":
            self.shortcut = self._conv(self.out_channels, 1, self.strides, activation=None, name="shortcut")
            self.shortcut.build(input_shape)
        if self.shortcut_type == "zero_pad" and channels > self.out_channels:
            raise ValueError(
                "A zero-padded shortcut cannot drop channels: the block's output has fewer than its input. "
                f"Received: input channels {channels}, output channels {self.out_channels}"
            )
        shape = build_chain(self._branch(), input_shape)
        self.act.build(shape)

    def _zero_pad(self, inputs):
        s = self.strides
        if s > 1:
            x = inputs[:, ::s, ::s, :] if self.data_format == "channels_last" else inputs[:, :, ::s, ::s]
        else:
            x = inputs
        extra = self.out_channels - inputs.shape[self.channel_axis]
        return ops.pad(x, pad_channels(0, extra, self.data_format)) if extra else x

    def call(self, inputs):
        branch = call_chain(self._branch(), inputs)
        if self.shortcut_type is None:
            return self.act(branch)
        if self.shortcut is not None:
            shortcut = self.shortcut(inputs)
        elif self.shortcut_type == "zero_pad":
            shortcut = self._zero_pad(inputs)
        else:
            shortcut = inputs
        return self.act(ops.add(branch, shortcut))

    def compute_output_shape(self, input_shape):
        return output_chain(self._branch(), input_shape)


@register
class BasicBlock(_ResidualBlock):
    """ResNet's basic block: two 3x3 convolutions and a shortcut (ResNet-18/34).

    Args:
        filters: int, channels of both convolutions and of the output.
        strides: 1 or 2, the stride of the first convolution. Defaults to 1.
        shortcut: ``"projection"`` (option B), ``"zero_pad"`` (option A) or None (a
            plain block): the shortcut when the shape changes (``SHORTCUTS``). Defaults
            to ``"projection"``.
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        activation: str. Defaults to ``"relu"``.

    Examples:

    >>> BasicBlock(128, strides=2).compute_output_shape((None, 56, 56, 64))
    (None, 28, 28, 128)
    >>> BasicBlock(32, strides=2, shortcut="zero_pad").compute_output_shape((None, 32, 32, 16))
    (None, 16, 16, 32)
    """

    expansion = 1

    def __init__(
        self,
        filters,
        strides=1,
        shortcut="projection",
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(filters, strides, shortcut, norm, norm_epsilon, norm_momentum, activation, **kwargs)
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
        shortcut: ``"projection"``, ``"zero_pad"`` or None, as ``BasicBlock``'s.
            Defaults to ``"projection"``.
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
        shortcut="projection",
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        activation="relu",
        **kwargs,
    ):
        super().__init__(filters, strides, shortcut, norm, norm_epsilon, norm_momentum, activation, **kwargs)
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
