"""What every builder shares: input handling, validation, the head, weights.

Family modules describe only their feature extractor; ``build_model`` wraps it with the
keras.applications conventions (include_top, weights, input_tensor, input_shape,
pooling, num_classes, classifier_activation, name, data_format).
"""

import os

import keras

from keras_cnns.layers import ClassifierHead
from keras_cnns.layers._base import data_format_arg, layout, positive_int, spatial
from keras_cnns.weights.base import image_data_format
from keras_cnns.weights.saved import MODEL_FILE, model_file, read_run

POOLINGS = (None, "avg", "max")
#: The keyword arguments every registered builder takes (the keras.applications ones).
COMMON_ARGUMENTS = (
    "include_top", "weights", "input_tensor", "input_shape", "pooling", "num_classes", "classifier_activation", "name",
    "data_format",
)


def _input_shape(input_shape, input_tensor, default_size, include_top, channels, data_format):
    last = data_format == "channels_last"
    if input_tensor is not None:
        shape = tuple(input_tensor.shape[1:])
        if input_shape is not None and tuple(input_shape) != shape:
            raise ValueError(
                "`input_shape` and the shape of `input_tensor` disagree. "
                f"Received: input_shape={tuple(input_shape)}, input_tensor.shape={tuple(input_tensor.shape)}"
            )
        input_shape = shape
    if input_shape is None:
        size = default_size if include_top else None
        return tuple(layout(None, size, size, channels, data_format)[1:])
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or not all(d is None or (isinstance(d, int) and d > 0) for d in input_shape):
        order = "height, width, channels" if last else "channels, height, width"
        raise ValueError(
            f"Expected `input_shape` to be a tuple of three positive ints ({order} in {data_format}; "
            f"height and width may be None). Received: input_shape={input_shape}"
        )
    if input_shape[-1 if last else 0] is None:
        raise ValueError(f"The number of input channels must be known. Received: input_shape={input_shape}")
    return input_shape


def build_model(
    features,
    *,
    name,
    default_size,
    min_size,
    head,
    aux_head=None,
    default_channels=3,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    num_classes=1000,
    classifier_activation="softmax",
    data_format=None,
):
    """Assembles a classification model around a feature extractor.

    Args:
        features: callable mapping the input tensor to the last feature map, or, when
            ``aux_head`` is given, to ``(feature_map, taps)``: the intermediate tensors
            that feed the auxiliary classifiers.
        name: model name.
        default_size: default square input size.
        min_size: smallest square input size accepted.
        head: dict of ``ClassifierHead`` arguments besides ``num_classes`` and
            ``classifier_activation`` (``pooling``, ``hidden_units``, ``dropout``), or a
            callable ``(feature_map, num_classes, classifier_activation) -> output``
            for heads of another shape (NIN's 1x1 convolution before global pooling).
        aux_head: None, or a callable ``(tap, index, num_classes, classifier_activation)``
            returning an auxiliary output (index counts from 1). The model then has
            ``1 + len(taps)`` outputs, the main one first; ``inference_model`` drops the
            auxiliary ones.
        default_channels: input channels when ``input_shape`` is None. Defaults to 3.

    The remaining arguments are those that every keras_cnns builder takes, with the
    keras.applications meanings; family builders pass them through as ``**kwargs``:

        include_top: bool, whether to add the classification head. Defaults to True.
        weights: None (random initialization) or the path of a weights file
            (``.weights.h5``). The registered variants also take the tags of the
            weights they declare (``"imagenet"``, ``"torchvision"``:
            ``keras_cnns.model_info(name).weights``) and files in those formats.
        input_tensor: optional Keras tensor to use as the model's input.
        input_shape: (height, width, channels), or (channels, height, width) in
            channels_first; height and width may be None when no flattening head needs
            them. Defaults to the architecture's default size.
        pooling: with include_top=False, "avg" or "max" global pooling of the last
            feature map, or None to return the map. Must be None with include_top=True.
        num_classes: int, number of classes. Defaults to 1000.
        classifier_activation: activation of the predictions, or None for logits.
            Defaults to "softmax".
        data_format: ``"channels_last"`` (NHWC) or ``"channels_first"`` (NCHW); None
            takes ``keras.config.image_data_format()``, as keras.applications does. The
            weights are the same in both formats (a flattening head flattens in
            channels_last order either way), so every weight file and transfer serves
            both.

    The model ends, as keras.applications' do, with a layer named ``predictions``: a
    ``Dense(num_classes, activation=classifier_activation)`` computed in float32 (so
    the outputs stay float32 under mixed precision), after the ``head`` (pooling or
    flattening, hidden layers, dropout); heads without a last Dense (NIN's) end in an
    ``OutputActivation`` of that name. ``model.get_layer("predictions").activation =
    None`` turns the model's outputs into logits.

    Returns:
        An uncompiled functional ``keras.Model``.
    """
    data_format = data_format_arg(data_format)
    if pooling not in POOLINGS:
        raise ValueError(f"Expected `pooling` to be one of None, 'avg', 'max'. Received: pooling={pooling!r}")
    if include_top and pooling is not None:
        raise ValueError(
            "`pooling` applies to the features when include_top=False; the head does its "
            f"own pooling. Received: pooling={pooling!r} with include_top=True"
        )
    positive_int(num_classes, "num_classes")
    if weights is not None and not (isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        raise ValueError(
            "The `weights` argument should be None (random initialization) or the path to "
            "an existing weights file (.weights.h5); the registered variants also take the tags of "
            f"their weights (keras_cnns.model_info(name).tags). Received: weights={weights!r}"
        )
    shape = _input_shape(input_shape, input_tensor, default_size, include_top, default_channels, data_format)
    size = spatial((None, *shape), data_format)
    too_small = [d for d in size if d is not None and d < min_size]
    if too_small:
        raise ValueError(
            f"Input size must be at least {min_size}x{min_size} for {name}. Received: input_shape={shape}"
        )
    flattens = isinstance(head, dict) and head.get("pooling") == "flatten"
    if include_top and flattens and None in size:
        example = tuple(layout(None, default_size, default_size, 3, data_format)[1:])
        raise ValueError(
            f"With include_top=True, {name} flattens its features and needs a static input "
            f"size (for example {example}). Received: input_shape={shape}"
        )

    if aux_head is not None and not include_top:
        raise ValueError(
            "Auxiliary classifiers need the classification head. "
            "Received: aux_logits=True with include_top=False"
        )

    if input_tensor is None:
        inputs = keras.Input(shape, name="input")
        x = inputs
    else:
        x = input_tensor
        inputs = keras.utils.get_source_inputs(input_tensor)
    with image_data_format(data_format):  # the Keras layers a family creates take the model's format
        x = features(x)
        aux = []
        if aux_head is not None:
            x, taps = x
            aux = [aux_head(tap, i, num_classes, classifier_activation) for i, tap in enumerate(taps, start=1)]
        if include_top and callable(head):
            x = head(x, num_classes, classifier_activation)
        elif include_top:
            x = ClassifierHead(None, name="head", **head)(x)
            predictions = keras.layers.Dense(
                num_classes, activation=classifier_activation, dtype="float32", name="predictions"
            )
            x = predictions(x)
        elif pooling == "avg":
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        elif pooling == "max":
            x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, [x, *aux] if aux else x, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model


def inference_model(model):
    """The single-output model of a model built with auxiliary classifiers.

    Training graphs of GoogLeNet and Inception v3 (``aux_logits=True``) have the main
    output first and one output per auxiliary head. The returned model shares the
    weights and computes the main output only, with identical predictions. A model with
    one output is returned as it is.

    Examples:

    >>> import keras_cnns
    >>> train = keras_cnns.create_model("googlenet", aux_logits=True)
    >>> len(train.outputs), len(keras_cnns.inference_model(train).outputs)
    (3, 1)
    """
    if len(model.outputs) == 1:
        return model
    return keras.Model(model.input, model.outputs[0], name=model.name)


def load_inference_model(path):
    """``(inference model, RunRecord or None, .keras file)`` of a run folder of train.py
    (its ``best.keras``) or of a ``.keras`` file: the saved model without its auxiliary
    heads (``inference_model``), and its run's record (``run.json``).

    Raises:
        ValueError: a folder without ``best.keras``, or nothing at ``path``.
    """
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, MODEL_FILE)):
        raise ValueError(
            f"No {MODEL_FILE} in that run folder: train.py writes it once an epoch has ended. Received: run={path!r}"
        )
    if not os.path.exists(path):
        raise ValueError(f"No run folder or .keras file at that path. Received: run={path!r}")
    file = model_file(path)
    return inference_model(keras.saving.load_model(file, compile=False)), read_run(file), file
