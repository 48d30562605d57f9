"""Reproducible ``tf.data`` augmentation: the classic CNN papers' training recipes.

Every function works on one image (or one batch, for ``mix_batch``) inside
``Dataset.map``, with TF ops only, and draws all randomness from stateless ops driven by
a ``seed`` tensor of shape [2]: the same seed gives the same output. Images hold values
in 0..255 (uint8 or float) with a static channel count; results are float32 in [0, 255].

>>> import tensorflow as tf
>>> image = tf.zeros((67, 90, 3), tf.uint8)
>>> out = train_transform(image, tf.constant([1, 2]), preset="inception", size=32)
>>> tuple(out.shape), out.dtype.name
((32, 32, 3), 'float32')
"""

import math
import numbers

import tensorflow as tf

PRESETS = ("alexnet", "vgg", "inception", "resnet", "cifar", "none")
#: The resize methods of ``tf.image.resize`` (a ``Preprocessing.interpolation``).
INTERPOLATIONS = ("bilinear", "bicubic", "nearest", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")

#: AlexNet's PCA lighting (Krizhevsky et al. 2012, section 4.1): ImageNet RGB statistics
#: on 0-1 pixels, as in fb.resnet.torch and timm. The columns of EIGVEC are the eigenvectors.
EIGVAL = (0.2175, 0.0188, 0.0045)
EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)

_split = tf.random.experimental.stateless_split


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_size(size, crop_pct):
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"Expected `size` to be a positive int. Received: size={size!r}")
    if not _is_number(crop_pct) or not 0 < crop_pct <= 1:
        raise ValueError(f"Expected `crop_pct` in (0, 1]. Received: crop_pct={crop_pct!r}")


def _channels(image):
    channels = image.shape[-1] if image.shape.rank == 3 else None
    if channels is None:
        raise ValueError(
            f"Expected an image of shape (H, W, C) with a static C. Received: image.shape={image.shape}"
        )
    return channels


def _check_interpolation(interpolation):
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"Expected `interpolation` to be one of {list(INTERPOLATIONS)}. Received: interpolation={interpolation!r}"
        )


def _resize_shorter(image, shorter, interpolation="bilinear"):
    """Antialiased resize (bilinear by default) so that the shorter side is ``shorter``
    (an int or int32 tensor)."""
    shape = tf.shape(image)
    shorter = tf.cast(shorter, tf.float32)
    scale = shorter / tf.cast(tf.minimum(shape[0], shape[1]), tf.float32)
    new = tf.maximum(tf.round(tf.cast(shape[:2], tf.float32) * scale), shorter)
    return tf.image.resize(image, tf.cast(new, tf.int32), method=interpolation, antialias=True)


def _center_crop(image, size):
    shape = tf.shape(image)
    top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def _random_crop(image, seed, size):
    return tf.image.stateless_random_crop(image, [size, size, _channels(image)], seed)


def cifar_padding(size):
    """The zero border of the "cifar" preset: 4 pixels at 32, in proportion at other sizes."""
    return max(1, round(size * 4 / 32))


def _cifar_crop(image, seed, size):
    """The whole image at ``size`` (resized only if it is not), zero-padded by
    ``cifar_padding(size)`` on each side, then a random ``size`` crop (He et al. 2015,
    section 4.2): a shift of up to the padding in each direction."""
    pad = cifar_padding(size)
    image = tf.image.resize(image, [size, size], method="bilinear", antialias=True)
    image = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
    return _random_crop(image, seed, size)


def _inception_crop(image, seed, size):
    """Random-resized crop: 8%-100% of the area, aspect ratio in [3/4, 4/3] (Szegedy et al. 2015)."""
    begin, crop, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), tf.zeros([1, 0, 4]), seed=seed, min_object_covered=0.0,
        aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0), max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    return tf.image.resize(tf.slice(image, begin, crop), [size, size], method="bilinear", antialias=True)


def _vgg_shorter_side(seed, size):
    """Scale jittering (Simonyan & Zisserman 2014): S ~ U[256, 512], scaled by size / 224."""
    low, high = round(256 * size / 224), round(512 * size / 224)
    return tf.random.stateless_uniform([], seed, minval=low, maxval=high + 1, dtype=tf.int32)


def _distort_color(image, seed):
    """TF-slim's ``distort_color`` (ordering 0) on 0-1 pixels, then clipped."""
    seeds = _split(seed, 4)
    x = tf.image.stateless_random_brightness(image / 255.0, 32.0 / 255.0, seeds[0])
    x = tf.image.stateless_random_saturation(x, 0.5, 1.5, seeds[1])
    x = tf.image.stateless_random_hue(x, 0.2, seeds[2])
    x = tf.image.stateless_random_contrast(x, 0.5, 1.5, seeds[3])
    return tf.clip_by_value(x, 0.0, 1.0) * 255.0


def pca_lighting(image, seed, sigma=0.1):
    """AlexNet's PCA color augmentation on an RGB image.

    Args:
        image: (H, W, 3) tensor with values in 0..255.
        seed: int32 or int64 tensor of shape [2].
        sigma: standard deviation of the per-eigenvector factors alpha.

    Returns:
        float32 image: ``image + 255 * EIGVEC @ (alpha * EIGVAL)`` at every pixel, clipped to [0, 255].
    """
    if _channels(image) != 3:
        raise ValueError(f"Expected an RGB image (3 channels). Received: image.shape={image.shape}")
    if not _is_number(sigma) or sigma < 0:
        raise ValueError(f"Expected `sigma` to be a non-negative number. Received: sigma={sigma!r}")
    alpha = tf.random.stateless_normal([3], seed, stddev=sigma)
    rgb = tf.linalg.matvec(tf.constant(EIGVEC), alpha * tf.constant(EIGVAL)) * 255.0
    return tf.clip_by_value(tf.cast(image, tf.float32) + rgb, 0.0, 255.0)


def _gray(image):
    if image.shape[-1] == 3:
        return tf.image.rgb_to_grayscale(image)
    return tf.reduce_mean(image, axis=-1, keepdims=True)


def _blend(degenerate, image, factor):
    return tf.clip_by_value(degenerate + factor * (image - degenerate), 0.0, 255.0)


def _affine(image, row_x, row_y):
    """Bilinear projective warp: output (x, y) samples the input at (row_x . (x, y, 1), row_y . (x, y, 1))."""
    transform = tf.cast(tf.concat([row_x, row_y, [0.0, 0.0]], 0), tf.float32)[None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform, output_shape=tf.shape(image)[:2],
        fill_value=128.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    return out[0]


def _autocontrast(image):
    low = tf.reduce_min(image, axis=[0, 1], keepdims=True)
    high = tf.reduce_max(image, axis=[0, 1], keepdims=True)
    return tf.where(high > low, (image - low) * 255.0 / tf.maximum(high - low, 1e-3), image)


def _randaugment_op(image, seed, magnitude):
    """One RandAugment op (Cubuk et al. 2019) chosen uniformly; signed ops get a random sign."""
    seeds = _split(seed, 2)
    level = magnitude / 10.0
    sign = tf.where(tf.random.stateless_uniform([], seeds[1]) < 0.5, -1.0, 1.0)
    factor = 1.0 + sign * 0.9 * level  # brightness, contrast, color: [0.1, 1.9] at magnitude 10
    shape = tf.cast(tf.shape(image), tf.float32)
    cy, cx = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    angle, shear, shift = sign * level * math.radians(30.0), sign * level * 0.3, sign * level * 0.45
    cos, sin = tf.cos(angle), tf.sin(angle)
    bits = 8 - round(4 * level)
    step = float(2 ** (8 - bits))
    rgb = image.shape[-1] == 3
    ops = [
        lambda: image,
        lambda: _blend(tf.zeros_like(image), image, factor),  # brightness
        lambda: _blend(tf.reduce_mean(_gray(image)), image, factor),  # contrast
        lambda: _blend(_gray(image), image, factor),  # color (saturation)
        lambda: (tf.image.adjust_hue(image / 255.0, 0.2 * level * sign) * 255.0) if rgb else image,  # hue
        lambda: tf.where(image >= 256.0 * (1.0 - level), 255.0 - image, image),  # solarize
        lambda: tf.floor(image / step) * step,  # posterize: keep `bits` bits
        lambda: _autocontrast(image),
        lambda: _affine(image, [cos, -sin, cx - cos * cx + sin * cy], [sin, cos, cy - sin * cx - cos * cy]),  # rotate
        lambda: _affine(image, [1.0, shear, -shear * cy], [0.0, 1.0, 0.0]),  # shear_x
        lambda: _affine(image, [1.0, 0.0, 0.0], [shear, 1.0, -shear * cx]),  # shear_y
        lambda: _affine(image, [1.0, 0.0, shift * shape[1]], [0.0, 1.0, 0.0]),  # translate_x
        lambda: _affine(image, [1.0, 0.0, 0.0], [0.0, 1.0, shift * shape[0]]),  # translate_y
    ]
    index = tf.random.stateless_uniform([], seeds[0], minval=0, maxval=len(ops), dtype=tf.int32)
    return tf.clip_by_value(tf.ensure_shape(tf.switch_case(index, ops), image.shape), 0.0, 255.0)


def _random_erasing(image, seed, probability):
    """Erase one rectangle (Zhong et al. 2017: area 2%-33%, aspect 0.3-3.3) with uniform noise."""
    seeds = _split(seed, 6)
    height, width, channels = image.shape
    area = tf.random.stateless_uniform([], seeds[0], 0.02, 0.33) * height * width
    ratio = tf.exp(tf.random.stateless_uniform([], seeds[1], math.log(0.3), math.log(3.3)))
    h = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area * ratio)), tf.int32), 1, height)
    w = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area / ratio)), tf.int32), 1, width)
    top = tf.random.stateless_uniform([], seeds[2], 0, height - h + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[3], 0, width - w + 1, dtype=tf.int32)
    rows, cols = tf.range(height), tf.range(width)
    inside = ((rows >= top) & (rows < top + h))[:, None] & ((cols >= left) & (cols < left + w))[None, :]
    noise = tf.random.stateless_uniform([height, width, channels], seeds[4], 0.0, 255.0)
    erased = tf.where(inside[:, :, None], noise, image)
    return tf.where(tf.random.stateless_uniform([], seeds[5]) < probability, erased, image)


def eval_transform(image, *, size, crop_pct=0.875, interpolation="bilinear"):
    """Evaluation resize and center crop.

    Args:
        image: (H, W, C) tensor with values in 0..255.
        size: side of the square output.
        crop_pct: the crop covers this fraction of the resized shorter side.
        interpolation: the resize's method, one of ``INTERPOLATIONS``.

    Returns:
        float32 (size, size, C): the shorter side resized to ``round(size / crop_pct)``
        (antialiased), then the central size x size crop.
    """
    _check_size(size, crop_pct)
    _check_interpolation(interpolation)
    channels = _channels(image)
    image = _resize_shorter(tf.cast(image, tf.float32), round(size / crop_pct), interpolation)
    image = tf.clip_by_value(_center_crop(image, size), 0.0, 255.0)
    return tf.ensure_shape(image, (size, size, channels))


def ten_crop(image, *, size, crop_pct=0.875, interpolation="bilinear"):
    """The 10-crop of AlexNet and GoogLeNet: 4 corners and the center, and their mirrors.

    The shorter side is resized to ``round(size / crop_pct)`` as in ``eval_transform``;
    the crops are, in order, top-left, top-right, bottom-left, bottom-right, center (the
    center crop of ``eval_transform``), then each of those five flipped left-right.

    >>> import tensorflow as tf
    >>> crops = ten_crop(tf.zeros((40, 60, 3)), size=32, crop_pct=0.8)
    >>> tuple(crops.shape), crops.dtype.name
    ((10, 32, 32, 3), 'float32')

    Args:
        image: (H, W, C) tensor with values in 0..255.
        size: side of each square crop.
        crop_pct: a crop's share of the resized shorter side.
        interpolation: the resize's method, one of ``INTERPOLATIONS``.

    Returns:
        float32 (10, size, size, C) with values in [0, 255].
    """
    _check_size(size, crop_pct)
    _check_interpolation(interpolation)
    channels = _channels(image)
    image = _resize_shorter(tf.cast(image, tf.float32), round(size / crop_pct), interpolation)
    image = tf.clip_by_value(image, 0.0, 255.0)
    shape = tf.shape(image)
    bottom, right = shape[0] - size, shape[1] - size
    five = tf.stack([
        image[:size, :size], image[:size, right:], image[bottom:, :size], image[bottom:, right:],
        _center_crop(image, size),
    ])
    return tf.ensure_shape(tf.concat([five, tf.reverse(five, [2])], 0), (10, size, size, channels))


def full_transform(image, *, size, interpolation="bilinear"):
    """The whole image resized to ``size`` x ``size`` (antialiased; the aspect ratio is
    not kept, nothing is cropped).

    Args:
        image: (H, W, C) tensor with values in 0..255.
        size: side of the square output.
        interpolation: the resize's method, one of ``INTERPOLATIONS``.

    Returns:
        float32 (size, size, C) with values in [0, 255].
    """
    _check_size(size, 1.0)
    _check_interpolation(interpolation)
    channels = _channels(image)
    image = tf.image.resize(tf.cast(image, tf.float32), [size, size], method=interpolation, antialias=True)
    return tf.ensure_shape(tf.clip_by_value(image, 0.0, 255.0), (size, size, channels))


def train_transform(image, seed, *, preset, size, crop_pct=0.875, randaugment=None, random_erasing=0.0):
    """Training augmentation: the preset's crop, flip and color pipeline, then the extras.

    Presets: "none" is ``eval_transform``; "alexnet" resizes the shorter side to
    ``round(size * 256 / 224)``, takes a random crop, flips, then ``pca_lighting(sigma=0.1)``;
    "vgg" resizes the shorter side to S ~ U[256, 512] * size / 224, random crop and flip;
    "inception" takes a random-resized crop, flips and distorts colors (TF-slim's
    ``distort_color``); "resnet" is "inception" without the color distortion; "cifar"
    (the ResNet and DenseNet papers' CIFAR augmentation) resizes the whole image to
    ``size`` (a 32x32 CIFAR image stays as it is), pads it with ``cifar_padding(size)``
    black pixels on each side (4 at 32), takes a random ``size`` crop and flips. Color
    distortion and PCA lighting are skipped for images without 3 channels. Every preset's
    normalization (the per-channel mean and std of the papers' CIFAR recipes too) is the
    model's ``Preprocessing``, applied after it.

    Args:
        image: (H, W, C) tensor with values in 0..255; H and W may be unknown.
        seed: int32 or int64 tensor of shape [2].
        preset: one of ``PRESETS``.
        size: side of the square output.
        crop_pct: center-crop fraction of the "none" preset.
        randaugment: None or ``(num_ops, magnitude)``, magnitude in [0, 10].
        random_erasing: probability of erasing one random rectangle.

    Returns:
        float32 (size, size, C) with values in [0, 255].
    """
    if preset not in PRESETS:
        raise ValueError(f"Expected `preset` to be one of {list(PRESETS)}. Received: preset={preset!r}")
    _check_size(size, crop_pct)
    if not _is_number(random_erasing) or not 0 <= random_erasing <= 1:
        raise ValueError(f"Expected `random_erasing` in [0, 1]. Received: random_erasing={random_erasing!r}")
    if randaugment is not None and not (
        isinstance(randaugment, (tuple, list)) and len(randaugment) == 2
        and isinstance(randaugment[0], numbers.Integral) and not isinstance(randaugment[0], bool)
        and randaugment[0] >= 0
        and _is_number(randaugment[1]) and 0 <= randaugment[1] <= 10
    ):
        raise ValueError(
            "Expected `randaugment` to be None or (num_ops, magnitude) with num_ops a non-negative int "
            f"and magnitude in [0, 10]. Received: randaugment={randaugment!r}"
        )
    channels = _channels(image)
    seeds = _split(tf.convert_to_tensor(seed), 6)
    image = tf.cast(image, tf.float32)
    if preset == "none":
        image = eval_transform(image, size=size, crop_pct=crop_pct)
    elif preset in ("alexnet", "vgg"):
        shorter = round(size * 256 / 224) if preset == "alexnet" else _vgg_shorter_side(seeds[0], size)
        image = _random_crop(_resize_shorter(image, shorter), seeds[1], size)
    elif preset == "cifar":
        image = _cifar_crop(image, seeds[1], size)
    else:
        image = _inception_crop(image, seeds[0], size)
    if preset != "none":
        image = tf.image.stateless_random_flip_left_right(image, seeds[2])
    if preset == "alexnet" and channels == 3:
        image = pca_lighting(image, seeds[3], sigma=0.1)
    if preset == "inception" and channels == 3:
        image = _distort_color(image, seeds[3])
    image = tf.ensure_shape(tf.clip_by_value(image, 0.0, 255.0), (size, size, channels))
    if randaugment is not None and randaugment[0] > 0:
        num_ops, magnitude = randaugment
        for op_seed in tf.unstack(_split(seeds[4], num_ops)):
            image = _randaugment_op(image, op_seed, magnitude)
    if random_erasing > 0:
        image = _random_erasing(image, seeds[5], random_erasing)
    return image


def one_hot(label, num_classes, smoothing=0.0):
    """Soft labels with label smoothing (Szegedy et al. 2016).

    Args:
        label: integer class index (any shape).
        num_classes: number of classes K.
        smoothing: probability mass spread evenly over all classes, in [0, 1).

    Returns:
        float32 ``(1 - smoothing) * one_hot(label) + smoothing / K``.
    """
    if not _is_number(smoothing) or not 0 <= smoothing < 1:
        raise ValueError(f"Expected `smoothing` in [0, 1). Received: smoothing={smoothing!r}")
    return tf.one_hot(label, num_classes) * (1.0 - smoothing) + smoothing / num_classes


def _beta(seed, alpha):
    seeds = _split(seed, 2)
    g1 = tf.random.stateless_gamma([], seeds[0], alpha)
    g2 = tf.random.stateless_gamma([], seeds[1], alpha)
    return tf.where(g1 + g2 > 0, g1 / tf.maximum(g1 + g2, 1e-30), 0.5)


def mix_batch(images, labels, seed, *, mixup_alpha=0.0, cutmix_alpha=0.0, switch_prob=0.5):
    """MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a batch.

    Each example is mixed with the batch reversed; lam ~ Beta(alpha, alpha). With both
    alphas > 0, CutMix is chosen with probability ``switch_prob``, else MixUp.

    Args:
        images: (B, H, W, C) float images; B may be unknown.
        labels: (B, K) float32 soft labels.
        seed: int32 or int64 tensor of shape [2].
        mixup_alpha: MixUp's Beta parameter; 0 turns it off.
        cutmix_alpha: CutMix's Beta parameter; 0 turns it off.
        switch_prob: probability of CutMix when both are on.

    Returns:
        ``(images, labels)`` mixed, labels ``lam * y + (1 - lam) * y_partner``.
    """
    for name, value in (("mixup_alpha", mixup_alpha), ("cutmix_alpha", cutmix_alpha)):
        if not _is_number(value) or value < 0:
            raise ValueError(f"Expected `{name}` to be a non-negative number. Received: {name}={value!r}")
    if not _is_number(switch_prob) or not 0 <= switch_prob <= 1:
        raise ValueError(f"Expected `switch_prob` in [0, 1]. Received: switch_prob={switch_prob!r}")
    if not mixup_alpha and not cutmix_alpha:
        return images, labels
    seeds = _split(tf.convert_to_tensor(seed), 5)
    partner_images, partner_labels = tf.reverse(images, [0]), tf.reverse(labels, [0])

    def mix_labels(lam):
        return lam * labels + (1.0 - lam) * partner_labels

    def mixup():
        lam = _beta(seeds[0], mixup_alpha)
        return lam * images + (1.0 - lam) * partner_images, mix_labels(lam)

    def cutmix():
        shape = tf.shape(images)
        height, width = shape[1], shape[2]
        cut = tf.sqrt(1.0 - _beta(seeds[1], cutmix_alpha))
        cut_h = tf.cast(cut * tf.cast(height, tf.float32), tf.int32) // 2
        cut_w = tf.cast(cut * tf.cast(width, tf.float32), tf.int32) // 2
        cy = tf.random.stateless_uniform([], seeds[2], 0, height, dtype=tf.int32)
        cx = tf.random.stateless_uniform([], seeds[3], 0, width, dtype=tf.int32)
        top, bottom = tf.clip_by_value(cy - cut_h, 0, height), tf.clip_by_value(cy + cut_h, 0, height)
        left, right = tf.clip_by_value(cx - cut_w, 0, width), tf.clip_by_value(cx + cut_w, 0, width)
        rows, cols = tf.range(height), tf.range(width)
        box = ((rows >= top) & (rows < bottom))[:, None] & ((cols >= left) & (cols < right))[None, :]
        lam = 1.0 - tf.cast((bottom - top) * (right - left), tf.float32) / tf.cast(height * width, tf.float32)
        return tf.where(box[None, :, :, None], partner_images, images), mix_labels(lam)

    if not cutmix_alpha:
        return mixup()
    if not mixup_alpha:
        return cutmix()
    return tf.cond(tf.random.stateless_uniform([], seeds[4]) < switch_prob, cutmix, mixup)
