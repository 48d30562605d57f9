"""What every builder shares: input handling, validation, the head, weights.

Family modules describe only their feature extractor; ``build_model`` wraps it with the
keras.applications conventions (include_top, weights, input_tensor, input_shape,
pooling, num_classes, classifier_activation, name).
"""

import os

import keras

from keras_cnns.layers import ClassifierHead

POOLINGS = (None, "avg", "max")


def _input_shape(input_shape, input_tensor, default_size, include_top):
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
        return (size, size, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or not all(d is None or (isinstance(d, int) and d > 0) for d in input_shape):
        raise ValueError(
            "Expected `input_shape` to be a tuple of three positive ints (height, width, "
            f"channels; height and width may be None). Received: input_shape={input_shape}"
        )
    if input_shape[-1] is None:
        raise ValueError(f"The number of input channels must be known. Received: input_shape={input_shape}")
    return input_shape


def build_model(
    features,
    *,
    name,
    default_size,
    min_size,
    head,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
):
    """Assembles a classification model around a feature extractor.

    Args:
        features: callable mapping the input tensor to the last feature map.
        name: model name.
        default_size: default square input size.
        min_size: smallest square input size accepted.
        head: dict of ``ClassifierHead`` arguments besides ``num_classes`` and
            ``classifier_activation`` (``pooling``, ``hidden_units``, ``dropout``).
        The other arguments are those of every builder (see the package docs).

    Returns:
        An uncompiled functional ``keras.Model``.
    """
    if keras.config.image_data_format() != "channels_last":
        raise ValueError(
            "keras_cnns models are channels_last. "
            f"Received: image_data_format={keras.config.image_data_format()!r}"
        )
    if pooling not in POOLINGS:
        raise ValueError(f"Expected `pooling` to be one of None, 'avg', 'max'. Received: pooling={pooling!r}")
    if include_top and pooling is not None:
        raise ValueError(
            "`pooling` applies to the features when include_top=False; the head does its "
            f"own pooling. Received: pooling={pooling!r} with include_top=True"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"Expected `num_classes` to be a positive int. Received: num_classes={num_classes!r}")
    if weights is not None and not (isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        raise ValueError(
            "The `weights` argument should be None (random initialization) or the path to "
            f"an existing weights file (.weights.h5). Received: weights={weights!r}"
        )
    shape = _input_shape(input_shape, input_tensor, default_size, include_top)
    too_small = [d for d in shape[:2] if d is not None and d < min_size]
    if too_small:
        raise ValueError(
            f"Input size must be at least {min_size}x{min_size} for {name}. Received: input_shape={shape}"
        )
    if include_top and head.get("pooling") == "flatten" and None in shape[:2]:
        raise ValueError(
            f"With include_top=True, {name} flattens its features and needs a static input "
            f"size (for example ({default_size}, {default_size}, 3)). Received: input_shape={shape}"
        )

    if input_tensor is None:
        inputs = keras.Input(shape, name="input")
        x = inputs
    else:
        x = input_tensor
        inputs = keras.utils.get_source_inputs(input_tensor)
    x = features(x)
    if include_top:
        x = ClassifierHead(num_classes, classifier_activation=classifier_activation, name="head", **head)(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model
