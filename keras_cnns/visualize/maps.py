"""The views as arrays: first-layer filters, feature maps, Grad-CAM and occlusion.

Images are the model's preprocessed input, one image of shape (height, width,
channels). Heatmaps come back at the input's height and width, scaled to [0, 1]. The
activations, Grad-CAM weights and occlusion probabilities are computed with
``keras.ops``; the gradients Grad-CAM needs with the backend's own autodiff
(TensorFlow, JAX or PyTorch).
"""

import dataclasses

import keras
import numpy as np
from keras import ops

#: A filter is "dead" when its norm is under this share of the layer's largest.
DEAD_NORM = 0.01
#: High frequencies: above half the Nyquist frequency (0.25 cycles per pixel), on either axis.
HIGH_FREQUENCY = 0.25


@dataclasses.dataclass(frozen=True)
class Filters:
    """The kernels of a model's first convolution and their statistics.

    Attributes:
        layer: the convolution's path in the model (e.g. ``conv1/conv``).
        kernels: float32 array (filters, height, width, input channels).
        norms: each kernel's L2 norm.
        high_frequency: each kernel's share of its spectral energy above half the
            Nyquist frequency (0.25 cycles per pixel) on either axis: 0 for a
            constant kernel, 1 for a checkerboard. Zero for an all-zero kernel. White
            noise (a random initialization) has the share of high-frequency bins:
            1 - (5/11)^2 = 79 % for 11x11 kernels, 1 - (3/7)^2 = 82 % for 7x7.
    """

    layer: str
    kernels: np.ndarray
    norms: np.ndarray
    high_frequency: np.ndarray

    @property
    def dead(self):
        """Boolean mask of the "dead" filters: norm under 1 % of the largest."""
        return self.norms < DEAD_NORM * self.norms.max() if self.norms.size and self.norms.max() > 0 else np.ones_like(self.norms, bool)

    @property
    def dead_fraction(self):
        """The share of dead filters."""
        return float(self.dead.mean())

    @property
    def high_frequency_energy(self):
        """The share of all the kernels' energy that is at high frequency."""
        energy = self.norms**2
        total = energy.sum()
        return float((energy * self.high_frequency).sum() / total) if total > 0 else 0.0


def convolutions(model):
    """The ``Conv2D`` layers of ``model`` in call order, blocks searched inside:
    ``[(path, layer), ...]`` (depthwise convolutions are not ``Conv2D``)."""
    found = []

    def visit(layer, path):
        if isinstance(layer, keras.layers.Conv2D):
            found.append((path, layer))
            return
        for child in layer._flatten_layers(include_self=False, recursive=False):
            visit(child, f"{path}/{child.name}")

    for layer in model.layers:
        visit(layer, layer.name)
    return found


def high_frequency_share(kernels, cutoff=HIGH_FREQUENCY):
    """Each kernel's share of spectral energy above ``cutoff`` cycles per pixel.

    The 2-D discrete Fourier transform of each input channel of each kernel, its power
    summed over input channels; high frequencies are those whose larger axis frequency
    exceeds ``cutoff``. ``kernels``: (filters, height, width, input channels).
    """
    kernels = np.asarray(kernels, "float64")
    power = (np.abs(np.fft.fft2(kernels, axes=(1, 2))) ** 2).sum(axis=-1)
    fy = np.abs(np.fft.fftfreq(kernels.shape[1]))[:, None]
    fx = np.abs(np.fft.fftfreq(kernels.shape[2]))[None, :]
    high = np.maximum(fy, fx) > cutoff + 1e-9
    total = power.sum(axis=(1, 2))
    share = (power * high).sum(axis=(1, 2)) / np.where(total > 0, total, 1.0)
    return np.where(total > 0, share, 0.0).astype("float32")


def filters(model):
    """The first convolution's kernels and their statistics (a ``Filters``).

    ZFNet (Zeiler and Fergus, 2014, Figure 6) found dead filters and filters of mostly
    high frequency in AlexNet's 11x11 stride-4 first layer: ``Filters.dead_fraction``
    and ``Filters.high_frequency_energy`` measure both.

    Raises:
        ValueError: the model has no ``Conv2D`` layer.
    """
    found = convolutions(model)
    if not found:
        raise ValueError(f"{model.name} has no Conv2D layer whose filters can be shown. Received: model={model.name}")
    path, layer = found[0]
    kernels = np.transpose(ops.convert_to_numpy(ops.cast(layer.kernel, "float32")), (3, 0, 1, 2))
    norms = np.sqrt((kernels.astype("float64") ** 2).sum(axis=(1, 2, 3))).astype("float32")
    return Filters(path, kernels, norms, high_frequency_share(kernels))


def feature_layers(model):
    """The names of the layers that end each stage of ``model``, shallow to deep.

    A registered model's ``model_info(name).feature_layers`` when the model has them;
    else the top-level layers with a 4-D output that are followed by a smaller map (a
    stride or a pooling), and the last 4-D layer.
    """
    from keras_cnns.models import list_models, model_info

    names = {layer.name for layer in model.layers}
    if model.name in list_models():
        declared = model_info(model.name).feature_layers
        if declared and all(name in names for name in declared):
            return tuple(declared)
    maps = [layer for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and len(_output(layer).shape) == 4]
    ends = [a.name for a, b in zip(maps, maps[1:]) if tuple(_output(b).shape[1:3]) != tuple(_output(a).shape[1:3])]
    return tuple(ends + [maps[-1].name]) if maps else ()


def _output(layer):
    output = layer.output
    return output[0] if isinstance(output, (list, tuple)) else output


def _layer(model, name):
    try:
        layer = model.get_layer(name)
    except ValueError:
        layer = None
    if layer is None or len(_output(layer).shape) != 4:
        choices = ", ".join(feature_layers(model))
        raise ValueError(f"Expected a layer of {model.name} with a 4-D output, such as its feature layers "
                         f"({choices}). Received: layer={name!r}")
    return layer


def _batch(image):
    image = ops.convert_to_tensor(np.asarray(image, "float32") if isinstance(image, (np.ndarray, list)) else image)
    if len(image.shape) != 3:
        raise ValueError(f"Expected one image of shape (height, width, channels). Received: image.shape={tuple(image.shape)}")
    return image[None]


@dataclasses.dataclass(frozen=True)
class FeatureMaps:
    """The most active channels of one layer's output for one image.

    Attributes:
        layer: the layer's name.
        channels: the channels' indices, most active (largest mean) first.
        activity: their mean activations, in the same order.
        maps: float32 array (channels, height, width) of their maps.
    """

    layer: str
    channels: np.ndarray
    activity: np.ndarray
    maps: np.ndarray


def features(model, image, layers=None, top=16):
    """The ``top`` most active channels of each feature layer for ``image``.

    Args:
        model: a functional Keras model.
        image: one preprocessed image (height, width, channels).
        layers: layer names, or None for ``feature_layers(model)``.
        top: channels per layer (fewer where a layer has fewer).

    Returns:
        A list of ``FeatureMaps``, one per layer, in the order of ``layers``.
    """
    names = feature_layers(model) if layers is None else tuple(layers)
    targets = [_layer(model, name) for name in names]
    probe = keras.Model(model.input, [_output(layer) for layer in targets])
    outputs = probe(_batch(image), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    views = []
    for name, output in zip(names, outputs):
        maps = ops.cast(output[0], "float32")
        activity, channels = ops.top_k(ops.mean(maps, axis=(0, 1)), min(top, maps.shape[-1]))
        chosen = ops.transpose(ops.take(maps, channels, axis=-1), (2, 0, 1))
        views.append(FeatureMaps(name, *(ops.convert_to_numpy(t) for t in (channels, activity, chosen))))
    return views


def _last_operation(model):
    history = model.outputs[0]._keras_history
    return history.operation, history.operation._inbound_nodes[history.node_index].input_tensors[0]


def _activation_name(layer):
    """The output activation of a model's last layer: "softmax", "linear", or None (unknown)."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if hasattr(layer, "classifier_activation"):  # keras_cnns' ClassifierHead
        return layer.classifier_activation or "linear"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", activation)
    return name if name in ("softmax", "linear") else None


def _logits(layer, x):
    """The last layer's output before its softmax (the class scores Grad-CAM uses)."""
    if _activation_name(layer) != "softmax":
        return ops.cast(layer(x, training=False), "float32")
    if hasattr(layer, "logits"):
        return layer.logits(x)
    if isinstance(layer, keras.layers.Dense):
        scores = ops.matmul(ops.cast(x, "float32"), ops.cast(layer.kernel, "float32"))
        return scores + ops.cast(layer.bias, "float32") if layer.use_bias else scores
    return ops.cast(x, "float32")  # a Softmax or Activation layer: its input


def probabilities(model, images):
    """Class probabilities of a batch: the outputs where the model ends in a softmax,
    else their softmax."""
    outputs = ops.cast(model(images, training=False), "float32")
    outputs = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return outputs if _activation_name(_last_operation(model)[0]) == "softmax" else ops.softmax(outputs)


def _gradient(score, x):
    """d score(x) / d x with the backend's autodiff; ``score`` returns a scalar."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = score(x)
        return tape.gradient(value, x)
    if backend == "jax":
        import jax

        return jax.grad(score)(x)
    if backend == "torch":
        x = x.detach().requires_grad_(True)
        score(x).backward()
        return x.grad
    raise ValueError(f"Grad-CAM needs gradients: the tensorflow, jax or torch backend. Received: backend={backend!r}")


def _resize(heat, height, width):
    heat = ops.image.resize(heat[None, :, :, None], (height, width), interpolation="bilinear")[0, :, :, 0]
    return _unit(heat)


def _unit(heat):
    heat = ops.maximum(ops.cast(heat, "float32"), 0.0)
    top = ops.max(heat)
    return ops.convert_to_numpy(ops.where(top > 0, heat / ops.where(top > 0, top, 1.0), heat))


def gradcam_layer(model):
    """Grad-CAM's default layer: the last of ``feature_layers(model)`` whose map is larger
    than 1x1 (a 1x1 map cannot say where), else the last."""
    names = feature_layers(model)
    wide = [name for name in names if max(_output(model.get_layer(name)).shape[1:3]) > 1]
    return (wide or names or (None,))[-1]


def gradcam(model, image, class_index=None, layer=None):
    """Grad-CAM (Selvaraju et al., 2017): where ``layer``'s features raise a class's score.

    The class score before the softmax is differentiated with respect to ``layer``'s
    output; each channel is weighted by its mean gradient, the weighted sum of the maps
    goes through a ReLU, is resized (bilinear) to the input's size and divided by its
    maximum.

    Args:
        model: a functional Keras model ending in its classifier.
        image: one preprocessed image (height, width, channels).
        class_index: the class, or None for the predicted one.
        layer: a layer name whose output every path to the output goes through, or None
            for ``gradcam_layer(model)``: the last feature layer larger than 1x1.

    Returns:
        float32 array (height, width) in [0, 1]; all zeros where no feature raises the
        score.
    """
    name = layer or gradcam_layer(model)
    target = _layer(model, name)
    last, last_input = _last_operation(model)
    try:
        head = _identity if last_input is _output(target) else keras.Model(_output(target), last_input)
    except ValueError as error:
        raise ValueError(f"Expected a layer that every path to the output goes through ({error}). "
                         f"Received: layer={name!r}") from None
    x = _batch(image)
    maps = keras.Model(model.input, _output(target))(x, training=False)
    if class_index is None:
        class_index = int(ops.convert_to_numpy(ops.argmax(_logits(last, head(maps, training=False))[0])))
    _check_class(class_index, model)
    grads = _gradient(lambda a: _logits(last, head(a, training=False))[0, class_index], maps)
    maps, grads = ops.cast(maps, "float32"), ops.cast(grads, "float32")
    weights = ops.mean(grads, axis=(1, 2))  # (1, channels)
    heat = ops.relu(ops.sum(maps[0] * weights[0], axis=-1))  # the ReLU, then the resize (as the paper)
    return _resize(heat, x.shape[1], x.shape[2])


def _identity(x, training=False):
    return x


def _check_class(class_index, model):
    classes = model.outputs[0].shape[-1]
    if not 0 <= class_index < classes:
        raise ValueError(f"Expected a class index in [0, {classes}). Received: class_index={class_index}")


@dataclasses.dataclass(frozen=True)
class Occlusion:
    """The class probability as a square covers each position (ZFNet, Figure 7).

    Attributes:
        class_index: the class scored.
        probability: its probability on the whole image.
        rows, cols: the square's top-left corners (pixels), one per row / column of
            ``probabilities``.
        patch: the square's side (pixels).
        probabilities: float32 array (len(rows), len(cols)): the class probability with
            the square at each position.
        heatmap: float32 array (height, width) in [0, 1]: how much covering each pixel
            lowers the probability (the mean fall over the squares that cover it,
            divided by the largest); all zeros where no square lowers it.
    """

    class_index: int
    probability: float
    rows: tuple
    cols: tuple
    patch: int
    probabilities: np.ndarray
    heatmap: np.ndarray


def _positions(size, patch, stride):
    starts = list(range(0, size - patch + 1, stride))
    return tuple(starts + ([size - patch] if starts[-1] != size - patch else []))


def occlusion_scan(model, image, class_index=None, patch=None, stride=None, fill=None, batch_size=32):
    """Covers ``image`` with a grey square at each position and records the class
    probability (an ``Occlusion``).

    Args:
        model, image: as ``gradcam``.
        class_index: the class (the true one, when known), or None for the predicted one.
        patch: the square's side in pixels; None for a seventh of the smaller side.
        stride: pixels between positions; None for half the patch. The last row and
            column of positions touch the image's edge.
        fill: the square's value per channel, in the preprocessed space; None for the
            image's mean per channel (grey for a natural image).
        batch_size: occluded images per model call.
    """
    x = np.asarray(ops.convert_to_numpy(_batch(image))[0], "float32")
    height, width = x.shape[:2]
    patch = max(1, min(height, width) // 7) if patch is None else int(patch)
    stride = max(1, patch // 2) if stride is None else int(stride)
    if not 0 < patch <= min(height, width):
        raise ValueError(f"Expected a patch from 1 to {min(height, width)} pixels. Received: patch={patch}")
    if stride < 1:
        raise ValueError(f"Expected a positive stride. Received: stride={stride}")
    fill = x.mean(axis=(0, 1)) if fill is None else np.broadcast_to(np.asarray(fill, "float32"), x.shape[-1:])
    whole = ops.convert_to_numpy(probabilities(model, x[None]))[0]
    class_index = int(np.argmax(whole)) if class_index is None else int(class_index)
    _check_class(class_index, model)
    rows, cols = _positions(height, patch, stride), _positions(width, patch, stride)
    corners = [(r, c) for r in rows for c in cols]
    scores = []
    for start in range(0, len(corners), batch_size):
        batch = np.repeat(x[None], len(corners[start:start + batch_size]), axis=0)
        for i, (r, c) in enumerate(corners[start:start + batch_size]):
            batch[i, r:r + patch, c:c + patch] = fill
        scores.append(ops.convert_to_numpy(probabilities(model, batch)[:, class_index]))
    probs = np.concatenate(scores).reshape(len(rows), len(cols)).astype("float32")
    fall = ops.maximum(whole[class_index] - ops.convert_to_tensor(probs), 0.0)
    total, count = np.zeros((height, width), "float32"), np.zeros((height, width), "float32")
    fall = ops.convert_to_numpy(fall)
    for (r, c), value in zip(corners, fall.reshape(-1)):
        total[r:r + patch, c:c + patch] += value
        count[r:r + patch, c:c + patch] += 1
    heatmap = _unit(total / np.maximum(count, 1))
    return Occlusion(class_index, float(whole[class_index]), rows, cols, patch, probs, heatmap)


def occlusion(model, image, class_index=None, patch=None, stride=None, fill=None):
    """The importance heatmap of ``occlusion_scan``: float32 (height, width) in [0, 1]."""
    return occlusion_scan(model, image, class_index, patch=patch, stride=stride, fill=fill).heatmap
