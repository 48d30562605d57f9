"""Blocks of Inception-ResNet v1 / v2 (Szegedy et al., 2016).

The stems, the residual blocks and Reduction-B; Reduction-A and the shared base
(options, factories, conventions) are in ``inception_v4.py``. A residual block adds a
1x1 up-projection of its concatenated branches, scaled, to its input. The three
residual blocks differ only by data: the kernel sizes of their branches (``LAYOUT``)
and Inception-ResNet-v2's default widths (``FILTERS``) and scale (``SCALE``).
"""

from keras import ops

from keras_cnns.layers._base import Parallel, build_chain, call_chain, make_activation, register
from keras_cnns.layers.conv import ConvBNAct
from keras_cnns.layers.inception_v4 import _filter_table, _InceptionBlock

__all__ = [
    "InceptionResNetA",
    "InceptionResNetB",
    "InceptionResNetC",
    "InceptionResNetReductionB",
    "InceptionResNetV1Stem",
    "InceptionResNetV2Mixed5b",
]


@register
class InceptionResNetV1Stem(_InceptionBlock):
    """The Inception-ResNet-v1 stem (Fig. 14): 299x299x3 to 35x35x256.

    3x3/2 32 V, 3x3 32 V, 3x3 64, 3x3/2 max pool V, 1x1 80, 3x3 192 V, 3x3/2 256 V.

    Args:
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            the convolutions' batch norm, activation and width multiplier, as for
            ``InceptionV4Stem``.

    Examples:

    >>> InceptionResNetV1Stem().compute_output_shape((None, 299, 299, 3))
    (None, 35, 35, 256)
    """

    def _make_layers(self):
        self.convs = self._convs([(32, 3, 2, "valid"), (32, 3, 1, "valid"), (64, 3)], "stem")
        self.pool = self._max_pool("pool")
        self.convs_after_pool = [
            self._conv(80, 1, name="stem_conv4"),
            self._conv(192, 3, 1, "valid", name="stem_conv5"),
            self._conv(256, 3, 2, "valid", name="stem_conv6"),
        ]

    def _chain(self):
        return [*self.convs, self.pool, *self.convs_after_pool]


@register
class InceptionResNetV2Mixed5b(_InceptionBlock):
    """The 35x35 Inception module that ends the released Inception-ResNet-v2 stem.

    TF-slim's and keras.applications' ``mixed_5b`` (not in the paper, whose Fig. 15
    reuses the Inception-v4 stem): 1x1 96 | 1x1 48, 5x5 64 | 1x1 64, 3x3 96, 3x3 96 |
    3x3 average pool, 1x1 64; 320 channels out.

    Args:
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            the convolutions' batch norm, activation and width multiplier, as for
            ``InceptionV4Stem``.

    Examples:

    >>> InceptionResNetV2Mixed5b().compute_output_shape((None, 35, 35, 192))
    (None, 35, 35, 320)
    """

    def _make_layers(self):
        self.branch0 = self._convs([(96, 1)], "branch0")
        self.branch1 = self._convs([(48, 1), (64, 5)], "branch1")
        self.branch2 = self._convs([(64, 1), (96, 3), (96, 3)], "branch2")
        self.branch3 = [self._avg_pool("branch3_pool"), *self._convs([(64, 1)], "branch3")]

    def _chain(self):
        return [Parallel(self.branch0, self.branch1, self.branch2, self.branch3, axis=self.channel_axis)]


@register
class InceptionResNetReductionB(_InceptionBlock):
    """The Inception-ResNet 17x17 to 8x8 reduction (Figs. 12 and 18).

    Three convolution branches and a 3x3/2 max pool, concatenated. ``filters`` gives each
    branch's widths: a 1x1 convolution, then 3x3 ones, the last one 3x3/2 V.
    Inception-ResNet-v1 (Fig. 12): ``((256, 384), (256, 256), (256, 256, 256))``;
    Inception-ResNet-v2 (Fig. 18, keras.applications' ``mixed_7a``): the default.

    Args:
        filters: three tuples of ints, the widths of each branch. Defaults to
            ``((256, 384), (256, 288), (256, 288, 320))``.
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            keyword arguments, the convolutions' batch norm, activation and width
            multiplier, as for ``InceptionV4Stem``.

    Examples:

    >>> InceptionResNetReductionB().compute_output_shape((None, 17, 17, 1088))
    (None, 8, 8, 2080)
    """

    LAYOUT = ((1, 3), (1, 3), (1, 3, 3))

    def __init__(self, filters=((256, 384), (256, 288), (256, 288, 320)), **kwargs):
        super().__init__(**kwargs)
        self.filters = _filter_table(filters, self.LAYOUT, "filters")
        self.branches = [
            self._convs(
                [(f, k) for f, k in zip(widths[:-1], kernels)] + [(widths[-1], 3, 2, "valid")],
                f"branch{i}",
            )
            for i, (widths, kernels) in enumerate(zip(self.filters, self.LAYOUT))
        ]
        self.pool = self._max_pool("branch3_pool")

    def _chain(self):
        return [Parallel(*self.branches, [self.pool], axis=self.channel_axis)]


class _InceptionResNetBlock(_InceptionBlock):
    """Residual Inception block: ``output_activation(x + scale * up(concat(branches)))``.

    A subclass is data: ``LAYOUT``, the kernel size of each convolution of each branch;
    ``FILTERS``, the default widths, shaped like it; ``SCALE``, the default scale.
    ``filters=None`` and ``scale=None`` take those defaults, and the config keeps the
    resolved values. ``up`` is a 1x1 convolution with a bias and no batch norm back to
    the input's channels (TF-slim, keras.applications, timm); it is created in ``build``
    from them, so ``width_multiplier`` does not scale it: it matches whatever width the
    input has.
    """

    LAYOUT = ()
    FILTERS = ()
    SCALE = 1.0

    def __init__(self, filters=None, scale=None, output_activation="relu", **kwargs):
        super().__init__(**kwargs)
        scale = self.SCALE if scale is None else scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise ValueError(f"Expected `scale` to be a number. Received: scale={scale!r}")
        self.filters = _filter_table(self.FILTERS if filters is None else filters, self.LAYOUT, "filters")
        self.scale = float(scale)
        self.output_activation = output_activation
        self.branches = [
            self._convs(list(zip(widths, kernels)), f"branch{i}")
            for i, (widths, kernels) in enumerate(zip(self.filters, self.LAYOUT))
        ]
        self.up = None
        self.act = make_activation(output_activation, self.dtype_policy, "act")

    def _chain(self):
        return [Parallel(*self.branches, axis=self.channel_axis)]

    def build(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(f"The input channels must be known. Received: input_shape={tuple(input_shape)}")
        mixed = build_chain(self._chain(), input_shape)
        if self.up is None:
            self.up = ConvBNAct(
                channels, 1, use_bias=True, norm=None, activation=None, data_format=self.data_format,
                dtype=self.dtype_policy, name="up",
            )
        build_chain([self.up, self.act], mixed)

    def call(self, inputs):
        residual = self.up(call_chain(self._chain(), inputs))
        x = ops.add(inputs, ops.multiply(residual, ops.cast(self.scale, residual.dtype)))
        return x if self.act is None else self.act(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@register
class InceptionResNetA(_InceptionResNetBlock):
    """Inception-ResNet's 35x35 residual block (Figs. 10 and 16; Keras' ``block35``).

    Branches 1x1 | 1x1, 3x3 | 1x1, 3x3, 3x3, concatenated, projected back to the input
    channels by a biased 1x1 convolution, scaled and added to the input. Inception-
    ResNet-v1 uses 32 filters everywhere: ``((32,), (32, 32), (32, 32, 32))``.

    Args:
        filters: tuple of tuples of ints, the widths of each branch. Defaults to None:
            ``FILTERS``, Inception-ResNet-v2's ``((32,), (32, 32), (32, 48, 64))``.
        scale: float, the factor of the residual branch. Defaults to None: ``SCALE``,
            0.17 (TF-slim).
        output_activation: activation after the sum, or None. Defaults to ``"relu"``.
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            keyword arguments, the convolutions' batch norm, activation and width
            multiplier, as for ``InceptionV4Stem``.

    Examples:

    >>> block = InceptionResNetA()
    >>> block.compute_output_shape((None, 35, 35, 320))
    (None, 35, 35, 320)
    >>> block.filters, block.scale
    (((32,), (32, 32), (32, 48, 64)), 0.17)
    """

    LAYOUT = ((1,), (1, 3), (1, 3, 3))
    FILTERS = ((32,), (32, 32), (32, 48, 64))
    SCALE = 0.17


@register
class InceptionResNetB(_InceptionResNetBlock):
    """Inception-ResNet's 17x17 residual block (Figs. 11 and 17; Keras' ``block17``).

    Branches 1x1 | 1x1, 1x7, 7x1, then as ``InceptionResNetA``. Inception-ResNet-v1:
    ``((128,), (128, 128, 128))``.

    Args:
        filters: tuple of tuples of ints, the widths of each branch. Defaults to None:
            ``FILTERS``, Inception-ResNet-v2's ``((192,), (128, 160, 192))``.
        scale: float, the factor of the residual branch. Defaults to None: ``SCALE``,
            0.1 (TF-slim).
        output_activation: activation after the sum, or None. Defaults to ``"relu"``.
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            keyword arguments, the convolutions' batch norm, activation and width
            multiplier, as for ``InceptionV4Stem``.

    Examples:

    >>> InceptionResNetB().compute_output_shape((None, 17, 17, 1088))
    (None, 17, 17, 1088)
    """

    LAYOUT = ((1,), (1, (1, 7), (7, 1)))
    FILTERS = ((192,), (128, 160, 192))
    SCALE = 0.1


@register
class InceptionResNetC(_InceptionResNetBlock):
    """Inception-ResNet's 8x8 residual block (Figs. 13 and 19; Keras' ``block8``).

    Branches 1x1 | 1x1, 1x3, 3x1, then as ``InceptionResNetA``. Inception-ResNet-v1:
    ``((192,), (192, 192, 192))``. The released Inception-ResNet-v2 ends with one such
    block with ``scale=1.0`` and ``output_activation=None``.

    Args:
        filters: tuple of tuples of ints, the widths of each branch. Defaults to None:
            ``FILTERS``, Inception-ResNet-v2's ``((192,), (192, 224, 256))``.
        scale: float, the factor of the residual branch. Defaults to None: ``SCALE``,
            0.2 (TF-slim).
        output_activation: activation after the sum, or None. Defaults to ``"relu"``.
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            keyword arguments, the convolutions' batch norm, activation and width
            multiplier, as for ``InceptionV4Stem``.

    Examples:

    >>> InceptionResNetC().compute_output_shape((None, 8, 8, 2080))
    (None, 8, 8, 2080)
    """

    LAYOUT = ((1,), (1, (1, 3), (3, 1)))
    FILTERS = ((192,), (192, 224, 256))
    SCALE = 0.2
