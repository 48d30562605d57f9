"""Network in Network (Lin, Chen and Yan, 2013), the authors' ImageNet model.

The paper reports CIFAR, SVHN and MNIST results only; the ImageNet layout is the
authors' Caffe Model Zoo entry "NIN-Imagenet" (gist mavenlin/d802a5849de39225bcc6):
four mlpconv layers, 3x3/2 max pooling (Caffe rounds pooled sizes up), dropout 0.5 after
the third pooling, and no fully connected layer. The last 1x1 convolution (Caffe's
``cccp8-1024``) has one channel per class and is followed by its ReLU, global average
pooling and the softmax: that part is the head, dropped by ``include_top=False``, so
the features are the 1024 channels of ``cccp7-1024``.

Layers: ``mlpconv1`` ... ``mlpconv4`` (each a k x k convolution and its 1x1
convolutions ``cccp*``), ``pool1`` ... ``pool3``, ``drop3``; head ``cccp8``,
``avg_pool``, ``predictions``.
"""

import collections

import keras

from keras_cnns.layers import ConvBNAct, MLPConvBlock, OutputActivation, PaddedMaxPool2D
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.alexnet import RECIPE as ALEXNET_RECIPE
from keras_cnns.models.registry import PaperError, register_model
from keras_cnns.models.spec import DROPOUT, Space
from keras_cnns.weights.caffe import CaffeWeights
from keras_cnns.weights.caffe import preprocessing as caffe_preprocessing

#: One mlpconv layer: widths (k x k first, then the 1x1s), kernel, stride, padding.
MLPConv = collections.namedtuple("MLPConv", "filters kernel stride padding")

#: NIN-Imagenet: conv1 + cccp1-2, conv2 + cccp3-4, conv3 + cccp5-6, conv4-1024 + cccp7-1024.
#: The last mlpconv's third layer, cccp8-1024 (num_classes wide), is the head.
NIN_IMAGENET = (
    MLPConv((96, 96, 96), 11, 4, 0),
    MLPConv((256, 256, 256), 5, 1, 2),
    MLPConv((384, 384, 384), 3, 1, 1),
    MLPConv((1024, 1024), 3, 1, 1),
)

__all__ = ["NIN", "nin"]


def _windows(blocks):
    for i, block in enumerate(blocks):
        yield block.kernel, block.stride, block.padding, False
        if i < len(blocks) - 1:
            yield 3, 2, 0, True


def min_size(blocks):
    """The smallest input for which no feature map of the table vanishes."""
    return min_input_size(list(_windows(tuple(MLPConv(*block) for block in blocks))))


DEFAULT_SIZE = 224


def _head(x, num_classes, classifier_activation):
    """cccp8: a 1x1 convolution to the classes with its ReLU, global average pooling."""
    x = ConvBNAct(num_classes, 1, use_bias=True, norm=None, activation="relu", name="cccp8")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return OutputActivation(classifier_activation, name="predictions")(x)


def NIN(*, blocks=NIN_IMAGENET, dropout=0.5, default_size=DEFAULT_SIZE, name="nin", **kwargs):
    """A Network in Network: mlpconv layers with 3x3/2 max pooling between them.

    Lin, Chen, Yan. Network In Network. ICLR 2014 (https://arxiv.org/abs/1312.4400).
    Every mlpconv but the last is followed by 3x3/2 max pooling in Caffe's ceil mode;
    dropout acts on the last pooled map. The head is a 1x1 convolution to
    ``num_classes`` channels with ReLU, global average pooling and the classifier
    activation: the model has no fully connected layer.

    Args:
        blocks: tuple of ``MLPConv(filters, kernel, stride, padding)`` rows.
            Defaults to ``NIN_IMAGENET``.
        dropout: dropout rate after the last pooling. Defaults to 0.5.
        default_size: default input size. Defaults to 224.
        name: model name. Defaults to ``"nin"``.
        **kwargs: the arguments every keras_cnns builder takes (include_top, weights,
            input_tensor, input_shape, pooling, num_classes, classifier_activation, data_format),
            documented in ``keras_cnns.models._builder.build_model``.

    The minimum input size is the smallest for which no feature map vanishes.

    Examples:

    >>> model = NIN(input_shape=(64, 64, 3), num_classes=10)
    >>> model.get_layer("mlpconv4").output.shape, model.output_shape
    ((None, 1, 1, 1024), (None, 10))
    """
    blocks = tuple(MLPConv(*block) for block in blocks)
    if not blocks:
        raise ValueError(f"Expected at least one MLPConv row in `blocks`. Received: blocks={blocks!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"Expected `dropout` to be in [0, 1). Received: dropout={dropout!r}")

    def features(x):
        for i, block in enumerate(blocks, start=1):
            x = MLPConvBlock(
                block.filters, block.kernel, strides=block.stride, padding=block.padding, name=f"mlpconv{i}"
            )(x)
            if i < len(blocks):
                x = PaddedMaxPool2D(3, 2, ceil_mode=True, name=f"pool{i}")(x)
            if i == len(blocks) - 1 and dropout:
                x = keras.layers.Dropout(dropout, name=f"drop{i}")(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=default_size,
        min_size=min_size(blocks),
        head=_head,
        **kwargs,
    )


#: Lin et al. 2013, section 4.1: trained as AlexNet.
RECIPE = ALEXNET_RECIPE.replace(
    source="Lin et al. 2013, section 4.1 (mini-batch SGD as Krizhevsky et al.; lr lowered by 10 when the accuracy stops improving)",
    notes="The paper gives no initial learning rate, batch or weight decay: AlexNet's.",
)
SPACE = Space("nin", (DROPOUT,), lambda info, v: (info.name, {}), "NIN dropout")

#: NIN-Imagenet's Caffe layer names -> ours (its pooling layers are pool0, pool2, pool3, pool4).
_CAFFE_NAMES = {
    "conv1": "mlpconv1/conv/conv", "cccp1": "mlpconv1/cccp1/conv", "cccp2": "mlpconv1/cccp2/conv",
    "conv2": "mlpconv2/conv/conv", "cccp3": "mlpconv2/cccp1/conv", "cccp4": "mlpconv2/cccp2/conv",
    "conv3": "mlpconv3/conv/conv", "cccp5": "mlpconv3/cccp1/conv", "cccp6": "mlpconv3/cccp2/conv",
    "conv4-1024": "mlpconv4/conv/conv", "cccp7-1024": "mlpconv4/cccp1/conv", "cccp8-1024": "cccp8/conv",
}
#: The authors' NIN-Imagenet (Caffe Model Zoo gist mavenlin/d802a5849de39225bcc6): a V1
#: file. Its readme's sha1 (8e89c8fc...) is also the one its CIFAR-10 model's readme
#: gives, a copy error that no file can match twice: no checksum is declared.
CAFFE = CaffeWeights(
    tag="caffe", file="nin_imagenet.caffemodel",
    url="https://www.dropbox.com/s/0cidxafrb2wuwxw/nin_imagenet.caffemodel?dl=1", checksum=None,
    rule=_CAFFE_NAMES.get, classifier="cccp8-1024", optional=("cccp8",),
    top1=59.36, top1_source="NIN-Imagenet gist readme (mavenlin/d802a5849de39225bcc6)",
    license="non-commercial", source="NIN-Imagenet, Caffe Model Zoo (gist mavenlin/d802a5849de39225bcc6)",
    # Trained on 224 crops of 256 images minus the ImageNet mean image (mean_file).
    preprocessing=caffe_preprocessing(DEFAULT_SIZE),
)


@register_model(
    depth=12,
    paper_error=PaperError(40.64, None, "1 crop", "the authors' Caffe Model Zoo model (the paper reports no ImageNet error)"),
    paper="Lin, Chen, Yan. Network In Network. ICLR 2014",
    year=2013,
    url="https://arxiv.org/abs/1312.4400",
    default_size=DEFAULT_SIZE,
    min_size=min_size(NIN_IMAGENET),
    params=7_595_176,
    macs=1.100,
    recipe=RECIPE,
    space=SPACE,
    family_builder=NIN,
    weights=[CAFFE],
    deviations=(
        "The paper has no ImageNet model: this is the authors' Caffe Model Zoo "
        "NIN-Imagenet layout (gist mavenlin/d802a5849de39225bcc6), four mlpconv layers "
        "96-256-384-1024, ceil-mode 3x3/2 max pooling, dropout 0.5 after pool3, and the "
        "last 1x1 convolution (num_classes wide, with its ReLU) globally averaged; no fully "
        "connected layer. Caffe's 6x6 average pooling is global pooling (6x6 is the last "
        "map at 224), so other input sizes work. He-normal initialization "
        "instead of Caffe's Gaussians (std 0.01 / 0.05)."
    ),
    feature_layers=("pool1", "pool2", "pool3", "mlpconv4"),
)
def nin(*, name="nin", **kwargs):
    """Network in Network, the authors' ImageNet model (NIN-Imagenet)."""
    return NIN(name=name, **kwargs)
