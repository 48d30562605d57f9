"""Registered block layers. Each can be used on its own in any Keras functional model.

>>> import keras
>>> from keras_cnns.layers import BottleneckBlock
>>> x = keras.Input((56, 56, 64))
>>> BottleneckBlock(64)(x).shape
(None, 56, 56, 256)
"""

from keras_cnns.layers.conv import ConvBNAct
from keras_cnns.layers.head import ClassifierHead
from keras_cnns.layers.normalization import LocalResponseNormalization
from keras_cnns.layers.pooling import PaddedMaxPool2D
from keras_cnns.layers.resnet import BasicBlock, BottleneckBlock
from keras_cnns.layers.vgg import VGGStage

__all__ = [
    "BasicBlock",
    "BottleneckBlock",
    "ClassifierHead",
    "ConvBNAct",
    "LocalResponseNormalization",
    "PaddedMaxPool2D",
    "VGGStage",
]
