"""Convolution + normalization + activation, the unit every network here is made of."""

import keras

from keras_cnns.layers._base import (
    ChainBlock,
    make_activation,
    make_norm,
    padding_arg,
    pair,
    positive_int,
    register,
    scaled_width,
)

__all__ = ["ConvBNAct"]

_CONV_OPTIONS = ("use_bias", "norm", "norm_epsilon", "norm_momentum", "norm_scale", "activation")


@register
class ConvBNAct(ChainBlock):
    """Conv2D, then optional batch normalization, then optional activation.

    The convolution may be grouped (AlexNet's two towers, ResNeXt's cardinality) and
    padded explicitly: an int or a pair pads symmetrically with zeros, as PyTorch and
    Caffe do, where Keras' ``"same"`` pads (0, 1) at stride 2. Output sizes are then
    ``floor((H + 2 * pad - kernel) / stride) + 1``.

    Args:
        filters: int, output channels.
        kernel_size: int or pair.
        strides: int or pair. Defaults to 1.
        padding: ``"same"``, ``"valid"``, an int / pair of symmetric zero padding, or
            ``((top, bottom), (left, right))``. Defaults to ``"same"``.
        groups: int, number of channel groups of the convolution. Defaults to 1.
        use_bias: bool, whether the convolution has a bias. Defaults to False (a bias
            before batch normalization is redundant).
        norm: ``"batch"``, ``"sync_batch"`` or None. Defaults to ``"batch"``.
        norm_epsilon: float, batch-norm epsilon. Defaults to 1e-5 (PyTorch, Caffe).
        norm_momentum: float, batch-norm moving-average momentum. Defaults to 0.9
            (PyTorch's 0.1).
        norm_scale: bool, whether batch norm learns a scale (gamma). Defaults to True.
        activation: activation name or None. Defaults to ``"relu"``.
        kernel_initializer: initializer name or config. Defaults to ``"he_normal"``.

    Examples:

    >>> layer = ConvBNAct(64, 7, strides=2, padding=3)
    >>> layer.compute_output_shape((None, 224, 224, 3))
    (None, 112, 112, 64)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="same",
        groups=1,
        use_bias=False,
        norm="batch",
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        norm_scale=True,
        activation="relu",
        kernel_initializer="he_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        positive_int(filters, "filters")
        if not isinstance(groups, int) or groups < 1 or filters % groups:
            raise ValueError(
                "Expected `groups` to be a positive int that divides `filters` "
                f"({filters}). Received: groups={groups!r}"
            )
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = padding_arg(padding)
        self.groups = groups
        self.use_bias = use_bias
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.norm_scale = norm_scale
        self.activation = activation
        self.kernel_initializer = kernel_initializer

        explicit = isinstance(self.padding, tuple)
        conv_padding = "valid" if explicit else self.padding
        if explicit and self.strides == (1, 1) and self.padding == tuple(((k - 1) // 2,) * 2 for k in self.kernel_size) \
                and all(k % 2 for k in self.kernel_size):
            # At stride 1 with an odd kernel, symmetric padding of (k - 1) / 2 is exactly
            # "same": the convolution pads by itself, without a padded copy of its input.
            explicit, conv_padding = False, "same"
        self.pad = (
            keras.layers.ZeroPadding2D(self.padding, data_format=self.data_format, dtype=self.dtype_policy, name="pad")
            if explicit and any(any(side) for side in self.padding)
            else None
        )
        self.conv = keras.layers.Conv2D(
            filters,
            self.kernel_size,
            strides=self.strides,
            padding=conv_padding,
            groups=groups,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            data_format=self.data_format,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.bn = make_norm(norm, norm_epsilon, norm_momentum, norm_scale, self.dtype_policy, "bn", self.data_format)
        self.act = make_activation(activation, self.dtype_policy, "act")

    def _chain(self):
        return [self.pad, self.conv, self.bn, self.act]

    def build(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is not None and channels % self.groups:
            raise ValueError(
                f"Expected input channels divisible by groups={self.groups}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)


class ConvOptions:
    """Mixin for blocks made of ``ConvBNAct`` units that share the block's own options.

    Whichever of ``use_bias``, ``norm``, ``norm_epsilon``, ``norm_momentum``,
    ``norm_scale`` and ``activation`` the block keeps as attributes, ``_conv`` passes on
    (with the block's dtype policy); keyword overrides win. A block that keeps a
    ``width_multiplier`` attribute gets every ``filters`` scaled by it, as TF-slim's
    Inception ``depth_multiplier`` (``scaled_width``: at least 16 channels, 1.0 changes
    nothing); blocks without the attribute build their widths as written. The units
    take the block's ``data_format``.
    """

    def _conv(self, filters, kernel_size, strides=1, padding="same", name=None, **overrides):
        options = {key: getattr(self, key) for key in _CONV_OPTIONS if hasattr(self, key)}
        options.update(overrides)
        filters = scaled_width(filters, getattr(self, "width_multiplier", 1.0))
        return ConvBNAct(
            filters, kernel_size, strides=strides, padding=padding, data_format=self.data_format,
            dtype=self.dtype_policy, name=name, **options,
        )
