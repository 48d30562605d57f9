"""Other libraries' models as registered variants, with their weights.

The weight engines (``keras_cnns.weights``) convert; this module finds, among the
weights the registered variants declare, the one that describes a given model, and
builds that variant.
"""

from keras_cnns.models.registry import _REGISTRY, create_model
from keras_cnns.weights import keras_applications, torchvision
from keras_cnns.weights.keras_applications import KerasApplicationsWeights
from keras_cnns.weights.torchvision import TorchvisionWeights


def declared(kind):
    """``(variant name, descriptor)`` of every declared weights descriptor of class ``kind``."""
    return [(name, w) for name, info in _REGISTRY.items() for w in info.weights if isinstance(w, kind)]


def from_keras_applications(ka_model):
    """The keras_cnns model equivalent to a keras.applications model, with its weights.

    Works for every keras.applications model that a registered variant declares
    ``KerasApplicationsWeights`` for (``keras_cnns.list_models(pretrained=True)``: VGG16,
    VGG19, ResNet50, ResNet101, ResNet152, InceptionV3, InceptionResNetV2, DenseNet121,
    DenseNet169, DenseNet201, MobileNet and MobileNetV2 at any width), at any input
    shape, with or without the classifier, with any pooling. The two models compute the
    same function (to float32 rounding); the returned model is the plain keras_cnns
    variant (``create_model(name, ...)``), ready to train.

    Args:
        ka_model: a model built by a keras.applications constructor, with any weights.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Raises:
        ValueError: an unsupported model, or a layer whose weights do not fit (the
            message names the layer).

    Examples:

    >>> import keras, keras_cnns
    >>> ka = keras.applications.MobileNet(weights=None, alpha=0.25, input_shape=(128, 128, 3))
    >>> model = keras_cnns.from_keras_applications(ka)
    >>> model.name, model.count_params() == ka.count_params()
    ('mobilenet', True)
    """
    return keras_applications.convert(ka_model, declared(KerasApplicationsWeights), create_model)


def _torchvision_weights(name):
    found = [(variant, w) for variant, w in declared(TorchvisionWeights) if w.model == name]
    if not found:
        supported = ", ".join(w.model for _, w in declared(TorchvisionWeights))
        raise ValueError(f"Unsupported torchvision model; supported: {supported}. Received: name={name!r}")
    return found[0]


def from_torchvision_state_dict(name, state_dict, **kwargs):
    """The keras_cnns model of torchvision model ``name``, with the weights of ``state_dict``.

    Args:
        name: a torchvision model name (``"resnet50"``, ``"alexnet"``, ``"googlenet"``):
            those of ``keras_cnns.list_models(pretrained="torchvision")``'s descriptors.
        state_dict: a mapping of parameter names to torch tensors or arrays, as
            ``tv_model.state_dict()`` or ``keras_cnns.weights.torchvision.load_state_dict(path)``
            give.
        **kwargs: builder arguments (input_shape, include_top, pooling, ...). The
            number of classes is read from the classifier's weights; the model returns
            logits (``classifier_activation=None``) unless told otherwise. The builder
            options of the variant's torchvision weights apply (for GoogLeNet,
            ``transform_input`` defaults to True, as torchvision's released weights;
            pass False for one trained with torchvision's default).

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Raises:
        ValueError: an unsupported name, or a state dict that does not fit (the message
            names the key or the layer).

    Examples:

    >>> import torchvision, keras_cnns
    >>> tv = torchvision.models.resnet18(num_classes=10)
    >>> model = keras_cnns.from_torchvision_state_dict("resnet18", tv.state_dict())
    >>> model.name, model.output_shape
    ('resnet18', (None, 10))
    """
    variant, weights = _torchvision_weights(name)
    return torchvision.convert_state_dict(variant, weights, state_dict, create_model, **kwargs)


def from_torchvision(tv_model, **kwargs):
    """The keras_cnns model equivalent to a torchvision classification model, with its weights.

    Works for the torchvision models that registered variants declare
    ``TorchvisionWeights`` for (AlexNet, VGG with and without batch norm, GoogLeNet,
    ResNet, ResNeXt, DenseNet) with any number of classes. In inference mode the two
    compute the same function, to float32 rounding, on the same images (NCHW there,
    NHWC here). GoogLeNet's auxiliary classifiers are not converted.

    Args:
        tv_model: a torchvision model (``torchvision.models.resnet50(...)``).
        **kwargs: builder arguments (input_shape, include_top, pooling,
            classifier_activation, ...); the classes come from the model, and the
            keras model returns logits, as torchvision's, unless told otherwise.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Examples:

    >>> import torchvision, keras_cnns
    >>> tv = torchvision.models.densenet121(num_classes=5)
    >>> keras_cnns.from_torchvision(tv, input_shape=(64, 64, 3)).output_shape
    (None, 5)
    """
    return torchvision.convert(tv_model, declared(TorchvisionWeights), create_model, **kwargs)
