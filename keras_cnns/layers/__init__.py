"""Registered block layers. Each can be used on its own in any Keras functional model.

One module per block family; importing this package registers every block, so saved
models load under ``safe_mode``.

>>> import keras
>>> from keras_cnns.layers import BottleneckBlock
>>> x = keras.Input((56, 56, 64))
>>> BottleneckBlock(64)(x).shape
(None, 56, 56, 256)
"""

from keras_cnns.layers import conv, densenet, head, inception, inception_resnet, inception_v3, inception_v4
from keras_cnns.layers import mobilenet, nin, normalization, pooling, resnet, vgg
from keras_cnns.layers.conv import *  # noqa: F401,F403
from keras_cnns.layers.densenet import *  # noqa: F401,F403
from keras_cnns.layers.head import *  # noqa: F401,F403
from keras_cnns.layers.inception import *  # noqa: F401,F403
from keras_cnns.layers.inception_resnet import *  # noqa: F401,F403
from keras_cnns.layers.inception_v3 import *  # noqa: F401,F403
from keras_cnns.layers.inception_v4 import *  # noqa: F401,F403
from keras_cnns.layers.mobilenet import *  # noqa: F401,F403
from keras_cnns.layers.nin import *  # noqa: F401,F403
from keras_cnns.layers.normalization import *  # noqa: F401,F403
from keras_cnns.layers.pooling import *  # noqa: F401,F403
from keras_cnns.layers.resnet import *  # noqa: F401,F403
from keras_cnns.layers.vgg import *  # noqa: F401,F403

_MODULES = (
    conv, densenet, head, inception, inception_resnet, inception_v3, inception_v4,
    mobilenet, nin, normalization, pooling, resnet, vgg,
)
__all__ = sorted(name for module in _MODULES for name in module.__all__)
