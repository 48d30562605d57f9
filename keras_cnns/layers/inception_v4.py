"""Blocks of Inception-v4 (Szegedy et al., 2016) and the base of every Inception-v4 /
Inception-ResNet block.

Every block is a set of parallel branches whose outputs are concatenated on the
channels (``Parallel``). Convolutions are ConvBNAct without bias; "valid" padding where
the paper's figures mark a layer "V" (all the strided ones), "same" elsewhere, so that
the 35 / 17 / 8 grids of the paper come out at 299 input. Average pooling (3x3, stride 1,
"same") ignores the padded zeros, as TF-slim and timm's ``count_include_pad=False``.
``width_multiplier`` scales every branch convolution's width as TF-slim's
``depth_multiplier`` (``min_depth`` 16); the widths written here are at 1.0. The
Inception-ResNet blocks (their stems, residual blocks and Reduction-B) are in
``inception_resnet.py``; Reduction-A, shared by the three networks, is here.
"""

import keras

from keras_cnns.layers._base import ChainBlock, Parallel, check_choice, positive_int, register
from keras_cnns.layers._base import width_multiplier as width_multiplier_arg
from keras_cnns.layers.conv import ConvOptions

__all__ = [
    "InceptionV4A",
    "InceptionV4B",
    "InceptionV4C",
    "InceptionV4ReductionB",
    "InceptionV4Stem",
    "ReductionA",
]

#: The options every block takes, after its own arguments (if any), and keeps in its config.
_OPTIONS = ("norm", "norm_epsilon", "norm_momentum", "norm_scale", "activation", "width_multiplier")


class _InceptionBlock(ConvOptions, ChainBlock):
    """Shared options and factories; subclasses list their layers in ``_chain``.

    This ``__init__`` takes the options of every block and then calls ``_make_layers``,
    where a block without arguments of its own creates its children (it defines no
    ``__init__``). A block with arguments of its own takes them, then ``**kwargs``: its
    ``__init__`` calls this one first, keeps its arguments and creates its children.
    ``get_config`` adds the options to the block's own arguments.

    ``width_multiplier`` is set before any convolution is created: ``_conv`` (and so
    ``_convs``) scales every width by it.
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
        super().__init__(**kwargs)
        check_choice(norm, "norm", ("batch", "sync_batch"))
        keras.activations.get(activation)  # an unknown name fails here, not at build
        self.norm = norm
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.norm_scale = norm_scale
        self.activation = activation
        self.width_multiplier = width_multiplier_arg(width_multiplier)
        self._make_layers()

    def _make_layers(self):
        """Creates the children of a block without arguments of its own."""

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in _OPTIONS})
        return config

    def _convs(self, specs, prefix):
        """ConvBNActs from ``(filters, kernel_size[, strides, padding])`` rows."""
        return [self._conv(*spec, name=f"{prefix}_conv{i + 1}") for i, spec in enumerate(specs)]

    def _max_pool(self, name):
        return keras.layers.MaxPooling2D(3, 2, data_format=self.data_format, dtype=self.dtype_policy, name=name)

    def _avg_pool(self, name):
        return keras.layers.AveragePooling2D(
            3, 1, padding="same", data_format=self.data_format, dtype=self.dtype_policy, name=name
        )


def _filter_table(filters, layout, name):
    """``filters`` as a tuple of tuples of positive ints shaped like ``layout``."""
    try:
        table = tuple(tuple(branch) for branch in filters)
    except TypeError:
        table = None
    if (
        table is None
        or [len(branch) for branch in table] != [len(branch) for branch in layout]
        or not all(isinstance(f, int) and f > 0 for branch in table for f in branch)
    ):
        shape = tuple(("f",) * len(branch) for branch in layout)
        raise ValueError(
            f"Expected `{name}` to be positive ints grouped by branch as {shape}. "
            f"Received: {name}={filters!r}"
        )
    return table


@register
class InceptionV4Stem(_InceptionBlock):
    """The Inception-v4 stem (Fig. 3): 299x299x3 to 35x35x384.

    Three 3x3 convolutions (32/2 V, 32 V, 64), then three two-way splits concatenated:
    3x3/2 max pool | 3x3/2 conv 96 V (``mixed_3a``); 1x1 64, 3x3 96 V | 1x1 64, 1x7 64,
    7x1 64, 3x3 96 V (``mixed_4a``); 3x3/2 conv 192 V | 3x3/2 max pool (``mixed_5a``),
    in TF-slim's and timm's order of the branches.

    Args:
        norm: ``"batch"`` or ``"sync_batch"``. Defaults to ``"batch"``.
        norm_epsilon: float. Defaults to 1e-3 (TF-slim, timm).
        norm_momentum: float. Defaults to 0.9.
        norm_scale: bool, batch norm learns a scale; False as keras.applications and
            TF-slim. Defaults to True (timm).
        activation: activation of every convolution. Defaults to ``"relu"``.
        width_multiplier: float, scales every convolution's width as TF-slim's
            ``depth_multiplier`` with ``min_depth`` 16: ``max(int(width *
            width_multiplier), 16)``. Defaults to 1.0 (the widths above).

    Examples:

    >>> InceptionV4Stem().compute_output_shape((None, 299, 299, 3))
    (None, 35, 35, 384)
    """

    def _make_layers(self):
        self.convs = self._convs([(32, 3, 2, "valid"), (32, 3, 1, "valid"), (64, 3)], "stem")
        self.mixed_3a_pool = self._max_pool("mixed_3a_pool")
        self.mixed_3a_conv = self._conv(96, 3, 2, "valid", name="mixed_3a_conv")
        self.mixed_4a_branch0 = self._convs([(64, 1), (96, 3, 1, "valid")], "mixed_4a_branch0")
        self.mixed_4a_branch1 = self._convs(
            [(64, 1), (64, (1, 7)), (64, (7, 1)), (96, 3, 1, "valid")], "mixed_4a_branch1"
        )
        self.mixed_5a_conv = self._conv(192, 3, 2, "valid", name="mixed_5a_conv")
        self.mixed_5a_pool = self._max_pool("mixed_5a_pool")

    def _chain(self):
        return [
            *self.convs,
            Parallel([self.mixed_3a_pool], [self.mixed_3a_conv], axis=self.channel_axis),
            Parallel(self.mixed_4a_branch0, self.mixed_4a_branch1, axis=self.channel_axis),
            Parallel([self.mixed_5a_conv], [self.mixed_5a_pool], axis=self.channel_axis),
        ]


@register
class InceptionV4A(_InceptionBlock):
    """Inception-v4's 35x35 module (Fig. 4): 384 channels out.

    Branches: 1x1 96 | 1x1 64, 3x3 96 | 1x1 64, 3x3 96, 3x3 96 | 3x3 average pool, 1x1 96.

    Args:
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            the convolutions' batch norm, activation and width multiplier, as for
            ``InceptionV4Stem``.

    Examples:

    >>> InceptionV4A().compute_output_shape((None, 35, 35, 384))
    (None, 35, 35, 384)
    """

    def _make_layers(self):
        self.branch0 = self._convs([(96, 1)], "branch0")
        self.branch1 = self._convs([(64, 1), (96, 3)], "branch1")
        self.branch2 = self._convs([(64, 1), (96, 3), (96, 3)], "branch2")
        self.branch3 = [self._avg_pool("branch3_pool"), *self._convs([(96, 1)], "branch3")]

    def _chain(self):
        return [Parallel(self.branch0, self.branch1, self.branch2, self.branch3, axis=self.channel_axis)]


@register
class InceptionV4B(_InceptionBlock):
    """Inception-v4's 17x17 module (Fig. 5): 1024 channels out.

    Branches: 1x1 384 | 1x1 192, 1x7 224, 7x1 256 | 1x1 192, 7x1 192, 1x7 224, 7x1 224,
    1x7 256 | 3x3 average pool, 1x1 128; the order of the 1x7 and 7x1 factors is
    TF-slim's and timm's.

    Args:
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            the convolutions' batch norm, activation and width multiplier, as for
            ``InceptionV4Stem``.

    Examples:

    >>> InceptionV4B().compute_output_shape((None, 17, 17, 1024))
    (None, 17, 17, 1024)
    """

    def _make_layers(self):
        self.branch0 = self._convs([(384, 1)], "branch0")
        self.branch1 = self._convs([(192, 1), (224, (1, 7)), (256, (7, 1))], "branch1")
        self.branch2 = self._convs(
            [(192, 1), (192, (7, 1)), (224, (1, 7)), (224, (7, 1)), (256, (1, 7))], "branch2"
        )
        self.branch3 = [self._avg_pool("branch3_pool"), *self._convs([(128, 1)], "branch3")]

    def _chain(self):
        return [Parallel(self.branch0, self.branch1, self.branch2, self.branch3, axis=self.channel_axis)]


@register
class InceptionV4C(_InceptionBlock):
    """Inception-v4's 8x8 module (Fig. 6): 1536 channels out.

    Branches: 1x1 256 | 1x1 384 split into 1x3 256 and 3x1 256 | 1x1 384, 3x1 448,
    1x3 512 split into 1x3 256 and 3x1 256 | 3x3 average pool, 1x1 256.

    Args:
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            the convolutions' batch norm, activation and width multiplier, as for
            ``InceptionV4Stem``.

    Examples:

    >>> InceptionV4C().compute_output_shape((None, 8, 8, 1536))
    (None, 8, 8, 1536)
    """

    def _make_layers(self):
        self.branch0 = self._convs([(256, 1)], "branch0")
        self.branch1 = self._convs([(384, 1)], "branch1")
        self.branch1_split = [self._conv(256, (1, 3), name="branch1_1x3"), self._conv(256, (3, 1), name="branch1_3x1")]
        self.branch2 = self._convs([(384, 1), (448, (3, 1)), (512, (1, 3))], "branch2")
        self.branch2_split = [self._conv(256, (1, 3), name="branch2_1x3"), self._conv(256, (3, 1), name="branch2_3x1")]
        self.branch3 = [self._avg_pool("branch3_pool"), *self._convs([(256, 1)], "branch3")]

    def _chain(self):
        split1 = Parallel([self.branch1_split[0]], [self.branch1_split[1]], axis=self.channel_axis)
        split2 = Parallel([self.branch2_split[0]], [self.branch2_split[1]], axis=self.channel_axis)
        branches = (self.branch0, [*self.branch1, split1], [*self.branch2, split2], self.branch3)
        return [Parallel(*branches, axis=self.channel_axis)]


@register
class ReductionA(_InceptionBlock):
    """The 35x35 to 17x17 reduction (Fig. 7), shared by all three networks.

    Branches: 3x3/2 conv ``n`` V | 1x1 ``k``, 3x3 ``l``, 3x3/2 ``m`` V | 3x3/2 max pool.
    Output channels: ``n + m`` plus the input's. Table 1 of the paper: Inception-v4
    (192, 224, 256, 384), Inception-ResNet-v1 (192, 192, 256, 384), Inception-ResNet-v2
    (256, 256, 384, 384), which is also keras.applications' ``mixed_6a``.

    Args:
        k, l, m, n: ints, the filter counts of Table 1.
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            keyword arguments, the convolutions' batch norm, activation and width
            multiplier, as for ``InceptionV4Stem``.

    Examples:

    >>> ReductionA(192, 224, 256, 384).compute_output_shape((None, 35, 35, 384))
    (None, 17, 17, 1024)
    """

    def __init__(self, k, l, m, n, **kwargs):  # noqa: E741 (the paper's name)
        super().__init__(**kwargs)
        for name, value in dict(k=k, l=l, m=m, n=n).items():
            positive_int(value, name)
        self.k, self.l, self.m, self.n = k, l, m, n
        self.branch0 = self._convs([(n, 3, 2, "valid")], "branch0")
        self.branch1 = self._convs([(k, 1), (l, 3), (m, 3, 2, "valid")], "branch1")
        self.branch2 = [self._max_pool("branch2_pool")]

    def _chain(self):
        return [Parallel(self.branch0, self.branch1, self.branch2, axis=self.channel_axis)]


@register
class InceptionV4ReductionB(_InceptionBlock):
    """Inception-v4's 17x17 to 8x8 reduction (Fig. 8): 1024 to 1536 channels.

    Branches: 1x1 192, 3x3/2 192 V | 1x1 256, 1x7 256, 7x1 320, 3x3/2 320 V |
    3x3/2 max pool.

    Args:
        norm, norm_epsilon, norm_momentum, norm_scale, activation, width_multiplier:
            the convolutions' batch norm, activation and width multiplier, as for
            ``InceptionV4Stem``.

    Examples:

    >>> InceptionV4ReductionB().compute_output_shape((None, 17, 17, 1024))
    (None, 8, 8, 1536)
    """

    def _make_layers(self):
        self.branch0 = self._convs([(192, 1), (192, 3, 2, "valid")], "branch0")
        self.branch1 = self._convs([(256, 1), (256, (1, 7)), (320, (7, 1)), (320, 3, 2, "valid")], "branch1")
        self.branch2 = [self._max_pool("branch2_pool")]

    def _chain(self):
        return [Parallel(self.branch0, self.branch1, self.branch2, axis=self.channel_axis)]
