"""Other libraries' models as registered variants, with their weights.

The weight engines (``keras_cnns.weights``) convert; this module finds, among the
weights the registered variants declare, the one that describes a given model, and
builds that variant.
"""

from keras_cnns.models.registry import _REGISTRY, create_model
from keras_cnns.weights import caffe, keras_applications, torchvision
from keras_cnns.weights import state_dict as state_dicts
from keras_cnns.weights.cadene import CadeneWeights
from keras_cnns.weights.caffe import CaffeWeights
from keras_cnns.weights.keras_applications import KerasApplicationsWeights
from keras_cnns.weights.timm import TimmWeights
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


# --- timm and Cadene's pretrainedmodels ------------------------------------------------


def from_timm_state_dict(name, state_dict, **kwargs):
    """The keras_cnns model of timm model ``name``, with the weights of ``state_dict``.

    Args:
        name: timm's name of the architecture, with or without the tag of its weights
            (``"resnet50"``, ``"resnet50.a1h_in1k"``, ``"inception_v4.tf_in1k"``): those of
            ``keras_cnns.list_models(pretrained="timm")``'s descriptors.
        state_dict: a mapping of parameter names to torch tensors or arrays, as
            ``timm_model.state_dict()`` or ``keras_cnns.weights.state_dict.load_state_dict(path)``
            give (a timm ``model.safetensors`` file reads without torch).
        **kwargs: builder arguments (input_shape, include_top, pooling, ...). The
            number of classes is read from the classifier's weights unless
            ``num_classes`` is given; the model returns logits
            (``classifier_activation=None``) unless told otherwise. The builder options
            of the variant's timm weights apply (``stride_in_3x3=True`` for timm's
            ResNet-50/101/152: v1.5).

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Raises:
        ValueError: an unsupported name, or a state dict that does not fit (the message
            names the key or the layer).

    Examples:

    >>> import timm, keras_cnns
    >>> tm = timm.create_model("resnet18", num_classes=10)
    >>> model = keras_cnns.from_timm_state_dict("resnet18.a1_in1k", tm.state_dict(), input_shape=(64, 64, 3))
    >>> model.name, model.output_shape
    ('resnet18', (None, 10))
    """
    return state_dicts.convert_named(name, declared(TimmWeights), state_dict, create_model, **kwargs)


def from_timm(timm_model, **kwargs):
    """The keras_cnns model equivalent to a timm model, with its weights.

    Works for the timm architectures that registered variants declare ``TimmWeights``
    for (ResNet-18/34/50/101/152 and ResNeXt-101 32x4d in timm's plain layout, not its
    c/d/s stems; Inception-v4), with any number of classes. In inference mode the two
    compute the same function, to float32 rounding, on the same images (NCHW there,
    NHWC here).

    Args:
        timm_model: a timm model (``timm.create_model("resnet50", ...)``).
        **kwargs: builder arguments (input_shape, include_top, pooling,
            classifier_activation, ...); the classes come from the model, and the keras
            model returns logits, as timm's, unless told otherwise.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Examples:

    >>> import timm, keras_cnns
    >>> tm = timm.create_model("resnet50", num_classes=5)
    >>> keras_cnns.from_timm(tm, input_shape=(64, 64, 3)).output_shape
    (None, 5)
    """
    return state_dicts.convert(timm_model, declared(TimmWeights), create_model, argument="timm_model", **kwargs)


def from_pretrainedmodels_state_dict(name, state_dict, **kwargs):
    """The keras_cnns model of Cadene's pretrainedmodels model ``name``, with the weights
    of ``state_dict``.

    Args:
        name: pretrainedmodels' model name (``"bninception"``): those of
            ``keras_cnns.list_models(pretrained="cadene")``'s descriptors.
        state_dict: a mapping of parameter names to torch tensors or arrays, as
            ``model.state_dict()`` or ``keras_cnns.weights.state_dict.load_state_dict(path)``
            give.
        **kwargs: builder arguments, as for ``from_timm_state_dict``; the variant's
            Cadene weights' options apply (BN-Inception: ``reduction_ceil_mode=True``).

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Examples:

    >>> import pretrainedmodels, keras_cnns
    >>> cadene = pretrainedmodels.bninception(num_classes=1000, pretrained=None)
    >>> keras_cnns.from_pretrainedmodels_state_dict("bninception", cadene.state_dict()).name
    'bn_inception'
    """
    return state_dicts.convert_named(name, declared(CadeneWeights), state_dict, create_model, **kwargs)


def from_pretrainedmodels(model, **kwargs):
    """The keras_cnns model equivalent to a model of Cadene's pretrainedmodels, with its
    weights.

    Works for the models that registered variants declare ``CadeneWeights`` for
    (``bninception``). In inference mode the two compute the same function, to float32
    rounding, on the same images (NCHW there, NHWC here) at the size the source
    accepts (BN-Inception: 224, as its final 7x7 pooling).

    Args:
        model: a pretrainedmodels model (``pretrainedmodels.bninception(...)``).
        **kwargs: builder arguments (input_shape, include_top, pooling,
            classifier_activation, ...); the classes come from the model, and the keras
            model returns logits unless told otherwise.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Examples:

    >>> import pretrainedmodels, keras_cnns
    >>> cadene = pretrainedmodels.bninception(num_classes=1000, pretrained=None)
    >>> keras_cnns.from_pretrainedmodels(cadene, include_top=False, input_shape=(96, 96, 3)).output_shape
    (None, 3, 3, 1024)
    """
    return state_dicts.convert(model, declared(CadeneWeights), create_model, argument="model", **kwargs)


# --- Caffe ------------------------------------------------------------------------------


def from_caffemodel(name, path, **kwargs):
    """The registered variant ``name`` with the weights of the Caffe ``.caffemodel`` file
    at ``path``.

    Works for the variants that declare ``CaffeWeights`` (``alexnet``: BVLC AlexNet,
    ``googlenet``: BVLC GoogLeNet, ``nin``: NIN-Imagenet), for files of those networks
    with any number of classes, in Caffe's current (``layer``) or legacy V1 (``layers``)
    format. Caffe itself is not needed. The layout options the file needs are set (for
    AlexNet, Caffe's LRN constants); in inference mode the model computes what Caffe (or
    OpenCV's Caffe importer) computes on the same images, NHWC here.

    Args:
        name: the registered variant (``"alexnet"``, ``"googlenet"``, ``"nin"``).
        path: the ``.caffemodel`` file.
        **kwargs: builder arguments (``input_shape``, ``include_top``, ``pooling``,
            ``aux_logits=True`` to load GoogLeNet's auxiliary classifiers, a smaller
            ``fc_units`` for an AlexNet trained so ...). The classes are read from the
            file unless ``num_classes`` is given; the model returns logits, as Caffe's
            last InnerProduct, unless ``classifier_activation`` is given.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Raises:
        ValueError: a variant without Caffe weights, or a file that does not fit (the
            message names the first Caffe layer or keras_cnns layer that does not).

    Examples:

    >>> import keras_cnns
    >>> model = keras_cnns.from_caffemodel("alexnet", "bvlc_alexnet.caffemodel")  # doctest: +SKIP
    >>> model.output_shape  # doctest: +SKIP
    (None, 1000)
    """
    found = [(variant, w) for variant, w in declared(CaffeWeights) if variant == name]
    if not found:
        having = ", ".join(variant for variant, _ in declared(CaffeWeights))
        raise ValueError(f"Expected a model with Caffe weights ({having}). Received: name={name!r}")
    variant, weights = found[0]
    return caffe.convert_file(variant, weights, path, create_model, **kwargs)
