"""The VGG stage: a stack of 3x3 convolutions followed by 2x2 max pooling."""

import keras

from keras_cnns.layers._base import ChainBlock, positive_int, register
from keras_cnns.layers.conv import ConvBNAct

__all__ = ["VGGStage"]


@register
class VGGStage(ChainBlock):
    """``num_convs`` 3x3 convolutions (stride 1, "same"), ReLU, then 2x2/2 max pooling.

    Simonyan and Zisserman (2014), Table 1. With ``norm="batch"`` every convolution is
    followed by batch normalization and keeps its bias, as torchvision's ``vgg*_bn``.

    Args:
        filters: int, channels of every convolution in the stage.
        num_convs: int, number of convolutions.
        norm: None, ``"batch"`` or ``"sync_batch"``. Defaults to None.
        use_bias: bool. Defaults to True.
        norm_epsilon: float. Defaults to 1e-5.
        norm_momentum: float. Defaults to 0.9.
        pool: bool, end with the 2x2 max pooling. Defaults to True.

    Examples:

    >>> VGGStage(64, 2).compute_output_shape((None, 224, 224, 3))
    (None, 112, 112, 64)
    """

    def __init__(
        self,
        filters,
        num_convs,
        norm=None,
        use_bias=True,
        norm_epsilon=1e-5,
        norm_momentum=0.9,
        pool=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        positive_int(num_convs, "num_convs")
        self.filters = filters
        self.num_convs = num_convs
        self.norm = norm
        self.use_bias = use_bias
        self.norm_epsilon = norm_epsilon
        self.norm_momentum = norm_momentum
        self.pool = pool
        self.convs = [
            ConvBNAct(
                filters,
                3,
                use_bias=use_bias,
                norm=norm,
                norm_epsilon=norm_epsilon,
                norm_momentum=norm_momentum,
                data_format=self.data_format,
                dtype=self.dtype_policy,
                name=f"conv{i + 1}",
            )
            for i in range(num_convs)
        ]
        self.max_pool = (
            keras.layers.MaxPooling2D(2, 2, data_format=self.data_format, dtype=self.dtype_policy, name="pool")
            if pool
            else None
        )

    def _chain(self):
        return [*self.convs, self.max_pool]
