"""The mlpconv layer of Network in Network (Lin, Chen and Yan, 2013)."""

from keras_cnns.layers._base import ChainBlock, pair, padding_arg, register
from keras_cnns.layers.conv import ConvBNAct

__all__ = ["MLPConvBlock"]


@register
class MLPConvBlock(ChainBlock):
    """NIN's mlpconv: a k x k convolution, then 1x1 convolutions, each with bias and ReLU.

    Lin, Chen, Yan. Network In Network. ICLR 2014 (https://arxiv.org/abs/1312.4400),
    section 3.1: a small multilayer perceptron slid over the input, which is a k x k
    convolution followed by 1x1 convolutions (the "cascaded cross channel parametric
    pooling" layers ``cccp*`` of the authors' Caffe models). There is no normalization.

    Args:
        filters: int or sequence of ints. An int gives the paper's three layers of that
            width; a sequence gives the width of the k x k convolution first and then
            one width per 1x1 convolution (e.g. ``(1024, 1024)`` for a k x k and a
            single 1x1).
        kernel_size: int or pair, the window of the first convolution.
        strides: int or pair, the stride of the first convolution. Defaults to 1.
        padding: padding of the first convolution: ``"same"``, ``"valid"``, an int / pair
            of symmetric zero padding (Caffe's ``pad``) or ``((top, bottom), (left,
            right))``. Defaults to ``"same"``.
        last_activation: bool, whether the last 1x1 convolution is followed by the
            activation. Defaults to True.
        activation: activation name. Defaults to ``"relu"``.

    Examples:

    >>> MLPConvBlock(96, 11, strides=4, padding=0).compute_output_shape((None, 224, 224, 3))
    (None, 54, 54, 96)
    >>> MLPConvBlock((192, 160, 96), 5, padding=2).compute_output_shape((None, 32, 32, 3))
    (None, 32, 32, 96)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="same",
        last_activation=True,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(filters, int) and not isinstance(filters, bool):
            widths = (filters,) * 3
        elif isinstance(filters, (list, tuple)):
            filters = widths = tuple(filters)
        else:
            widths = ()
        if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
            raise ValueError(
                "Expected `filters` to be a positive int or a non-empty sequence of "
                f"positive ints. Received: filters={filters!r}"
            )
        if not isinstance(last_activation, bool):
            raise ValueError(
                f"Expected `last_activation` to be a bool. Received: last_activation={last_activation!r}"
            )
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = padding_arg(padding)
        self.last_activation = last_activation
        self.activation = activation

        acts = [activation] * len(widths)
        if not last_activation:
            acts[-1] = None
        options = dict(use_bias=True, norm=None, data_format=self.data_format, dtype=self.dtype_policy)
        self.conv = ConvBNAct(
            widths[0],
            self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=acts[0],
            name="conv",
            **options,
        )
        self.cccp = [
            ConvBNAct(width, 1, activation=act, name=f"cccp{i}", **options)
            for i, (width, act) in enumerate(zip(widths[1:], acts[1:]), start=1)
        ]

    def _chain(self):
        return [self.conv, *self.cccp]
