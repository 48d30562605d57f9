"""keras_cnns.data.augment: preset geometry, reproducibility, PCA lighting, labels, MixUp/CutMix."""

import numpy as np
import pytest
import tensorflow as tf

from keras_cnns.data import augment

SEED = tf.constant([1, 2])
RANDOM_PRESETS = [p for p in augment.PRESETS if p != "none"]


def _image(height, width, channels=3, low=0, high=256, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.integers(low, high, (height, width, channels)), tf.uint8)


def _check(out, size, channels=3):
    assert out.dtype == tf.float32 and tuple(out.shape) == (size, size, channels)
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 255.0


@pytest.mark.parametrize("preset", augment.PRESETS)
@pytest.mark.parametrize("shape", [(67, 90), (8, 8)])
def test_presets_give_float32_squares_in_range(preset, shape):
    image = _image(*shape)
    _check(augment.train_transform(image, SEED, preset=preset, size=32), 32)
    extras = augment.train_transform(image, SEED, preset=preset, size=32, randaugment=(2, 9), random_erasing=0.5)
    _check(extras, 32)


@pytest.mark.parametrize("preset", augment.PRESETS)
def test_presets_work_in_tf_data_with_unknown_height_and_width(preset):
    images = [_image(67, 90).numpy(), _image(8, 8).numpy(), _image(40, 9).numpy()]
    spec = tf.TensorSpec((None, None, 3), tf.uint8)
    data = tf.data.Dataset.from_generator(lambda: iter(images), output_signature=spec)
    seeds = tf.data.Dataset.random(seed=0).batch(2)  # int64 seeds, as load_dataset makes them
    data = tf.data.Dataset.zip((data, seeds)).map(
        lambda image, seed: augment.train_transform(
            image, seed, preset=preset, size=24, randaugment=(2, 9), random_erasing=0.5
        )
    )
    assert data.element_spec.shape == (24, 24, 3)
    outputs = list(data)
    assert len(outputs) == 3
    for out in outputs:
        _check(out, 24)


@pytest.mark.parametrize("preset", RANDOM_PRESETS)
def test_same_seed_same_output_other_seed_other_output(preset):
    image = _image(67, 90)
    first = augment.train_transform(image, SEED, preset=preset, size=32)
    again = augment.train_transform(image, SEED, preset=preset, size=32)
    other = augment.train_transform(image, tf.constant([3, 4]), preset=preset, size=32)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.array_equal(first.numpy(), other.numpy())


def test_randaugment_is_reproducible_and_seed_dependent():
    image = _image(67, 90)
    outputs = [
        augment.train_transform(image, tf.constant([0, s]), preset="none", size=32, randaugment=(2, 9)).numpy()
        for s in (0, 0, 1, 2, 3)
    ]
    for out in outputs:
        _check(tf.constant(out), 32)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    plain = augment.eval_transform(image, size=32).numpy()
    assert len({out.tobytes() for out in outputs[1:] + [plain]}) >= 4  # ops change the image


def _full_range_image(size=32):
    """Integer pixels with 0 and 255 in every channel: autocontrast and posterize keep it."""
    image = _image(size, size).numpy()
    image[0, 0], image[0, 1] = 0, 255
    return tf.constant(image)


def test_randaugment_at_magnitude_zero_changes_nothing():
    image = _full_range_image()
    plain = augment.eval_transform(image, size=32, crop_pct=1.0).numpy()
    for s in range(10):
        out = augment.train_transform(image, tf.constant([s, 3]), preset="none", size=32, crop_pct=1.0,
                                      randaugment=(3, 0))
        np.testing.assert_allclose(out.numpy(), plain, atol=1e-3)


def test_randaugment_draws_one_of_many_ops():
    image = _full_range_image()
    plain = augment.eval_transform(image, size=32, crop_pct=1.0).numpy()
    outputs = [
        augment.train_transform(image, tf.constant([s, 3]), preset="none", size=32, crop_pct=1.0,
                                randaugment=(1, 9)).numpy()
        for s in range(40)
    ]
    assert len({out.tobytes() for out in outputs}) >= 12  # 13 ops, most with a random sign
    assert any(np.array_equal(out, plain) for out in outputs)  # identity is one of them


@pytest.mark.parametrize("preset", RANDOM_PRESETS)
def test_random_presets_flip_about_half_the_time(preset):
    ramp = tf.cast(tf.tile(2 * tf.range(100)[None, :, None], [100, 1, 3]), tf.uint8)  # grey: no hue change
    slopes = [
        np.median(np.diff(augment.train_transform(ramp, tf.constant([s, 2]), preset=preset, size=28)[..., 0], axis=1))
        for s in range(16)
    ]
    flipped = sum(slope < 0 for slope in slopes)
    assert 3 <= flipped <= 13 and all(slope != 0 for slope in slopes)


def test_none_preset_is_eval_transform():
    image = _image(67, 90)
    out = augment.train_transform(image, SEED, preset="none", size=32, crop_pct=0.9)
    np.testing.assert_array_equal(out.numpy(), augment.eval_transform(image, size=32, crop_pct=0.9).numpy())


@pytest.mark.parametrize("shape", [(100, 200), (200, 100)])
def test_eval_transform_resizes_the_shorter_side_then_center_crops(shape):
    image = _image(*shape)
    out = augment.eval_transform(image, size=64, crop_pct=0.875)
    resized_shape = (73, 146) if shape == (100, 200) else (146, 73)  # round(64 / 0.875) = 73
    resized = tf.image.resize(tf.cast(image, tf.float32), resized_shape, method="bilinear", antialias=True)
    top, left = (resized_shape[0] - 64) // 2, (resized_shape[1] - 64) // 2
    np.testing.assert_allclose(out.numpy(), resized[top : top + 64, left : left + 64].numpy(), atol=1e-3)


def test_vgg_jitters_the_shorter_side_between_256_and_512_scaled():
    # A horizontal ramp of slope 2 per pixel: after resizing 100 -> S columns the slope is 200 / S.
    ramp = tf.cast(tf.tile(2 * tf.range(100)[None, :, None], [100, 1, 3]), tf.uint8)
    sides = []
    for s in range(40):
        out = augment.train_transform(ramp, tf.constant([s, 7]), preset="vgg", size=28).numpy()
        sides.append(200 / np.median(np.abs(np.diff(out[..., 0], axis=1))))
    low, high = 256 * 28 / 224, 512 * 28 / 224  # 32 and 64
    assert low - 1 <= min(sides) <= low + 5 and high - 5 <= max(sides) <= high + 1
    assert len({round(side) for side in sides}) > 10


@pytest.mark.parametrize("channels", [1, 3])
def test_alexnet_crops_the_resized_image_and_adds_pca_lighting_to_rgb(channels):
    image = _image(30, 40, channels, low=60, high=190)  # mid-range: PCA lighting does not clip
    resized = tf.image.resize(tf.cast(image, tf.float32), (18, 24), antialias=True).numpy()  # 16 * 256 / 224
    for s in range(3):
        out = augment.train_transform(image, tf.constant([s, 1]), preset="alexnet", size=16).numpy()
        windows = [
            source[top : top + 16, left : left + 16]
            for source in (resized, resized[:, ::-1])
            for top in range(3)
            for left in range(9)
        ]
        diffs = [out - window for window in windows]
        best = min(diffs, key=lambda diff: np.ptp(diff, axis=(0, 1)).max())
        assert np.ptp(best, axis=(0, 1)).max() < 1e-3  # one shift per channel: a crop of the resized image
        assert (np.abs(best).max() > 0.01) == (channels == 3)


def test_inception_adds_color_distortion_to_resnet_crop_for_rgb_only():
    for channels in (1, 3):
        image = _image(67, 90, channels)
        inception = augment.train_transform(image, SEED, preset="inception", size=32).numpy()
        resnet = augment.train_transform(image, SEED, preset="resnet", size=32).numpy()
        assert np.array_equal(inception, resnet) == (channels == 1)


@pytest.mark.parametrize("preset", augment.PRESETS)
def test_grayscale_images_work_with_every_preset_and_extras(preset):
    for shape in [(67, 90), (8, 8)]:
        out = augment.train_transform(
            _image(*shape, channels=1), SEED, preset=preset, size=20, randaugment=(3, 9), random_erasing=1.0
        )
        _check(out, 20, channels=1)


def test_random_erasing_fills_one_rectangle_with_noise():
    grey = tf.fill((64, 64, 3), tf.constant(128, tf.uint8))
    kept = augment.train_transform(grey, SEED, preset="none", size=64, crop_pct=1.0, random_erasing=0.0)
    np.testing.assert_array_equal(kept.numpy(), 128.0)
    for s in range(5):
        out = augment.train_transform(
            grey, tf.constant([s, 0]), preset="none", size=64, crop_pct=1.0, random_erasing=1.0
        ).numpy()
        rows, cols = np.nonzero((out != 128.0).any(axis=-1))
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert len(rows) == height * width  # a full rectangle
        assert 0.01 <= len(rows) / 64**2 <= 0.36
        assert out.std() > 0 and 0 <= out.min() and out.max() <= 255


def test_pca_lighting_moves_colors_along_the_eigenvectors_by_sigma():
    grey = tf.fill((4, 5, 3), 128.0)
    eigvec, eigval = np.array(augment.EIGVEC), np.array(augment.EIGVAL)
    alphas = []
    for s in range(200):
        diff = augment.pca_lighting(grey, tf.constant([s, 5]), sigma=0.1).numpy() - 128.0
        np.testing.assert_allclose(diff, np.broadcast_to(diff[0, 0], diff.shape), atol=1e-4)
        alphas.append(np.linalg.solve(eigvec, diff[0, 0] / 255.0) / eigval)
    std = np.std(alphas, axis=0)
    assert np.all((0.07 <= std) & (std <= 0.13)), std
    assert np.all(np.abs(np.mean(alphas, axis=0)) < 0.03)
    np.testing.assert_array_equal(augment.pca_lighting(grey, SEED, sigma=0.0).numpy(), grey.numpy())


def test_one_hot_smoothing():
    labels = augment.one_hot(tf.constant([2, 0], tf.int64), 4, smoothing=0.2).numpy()
    assert labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(labels[0], [0.05, 0.05, 0.85, 0.05], rtol=1e-6)
    np.testing.assert_array_equal(augment.one_hot(1, 3).numpy(), [0.0, 1.0, 0.0])


def _batch(size, classes=None):
    images = tf.random.stateless_uniform((size, 8, 10, 3), [size, 0], 0, 255)
    return images, augment.one_hot(tf.range(size), classes or size)


def _is_mixup(images, labels, mixed, mixed_labels):
    lam = mixed_labels[0, 0]  # example 0 (class 0) pairs with the last one (class B - 1)
    expected = lam * images + (1 - lam) * images[::-1]
    return np.allclose(mixed, expected, atol=1e-3) and np.allclose(mixed_labels[0, -1], 1 - lam)


def _is_cutmix(images, mixed, mixed_labels):
    own, partner = np.all(mixed == images, axis=-1), np.all(mixed == images[::-1], axis=-1)
    return bool(np.all(own | partner)) and np.isclose(own[0].mean(), mixed_labels[0, 0], atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixup_mixes_with_the_reversed_batch(seed):
    images, labels = _batch(3)
    mixed, mixed_labels = augment.mix_batch(images, labels, tf.constant([seed, 9]), mixup_alpha=0.4)
    mixed, mixed_labels = mixed.numpy(), mixed_labels.numpy()
    np.testing.assert_allclose(mixed_labels.sum(axis=-1), 1.0, rtol=1e-5)
    assert 0 < mixed_labels[0, 0] < 1
    assert _is_mixup(images.numpy(), labels.numpy(), mixed, mixed_labels)
    np.testing.assert_allclose(mixed[1], images[1].numpy(), atol=1e-4)  # the middle one pairs with itself


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cutmix_pastes_a_box_from_the_partner(seed):
    images, labels = _batch(3)
    mixed, mixed_labels = augment.mix_batch(images, labels, tf.constant([seed, 4]), cutmix_alpha=1.0)
    np.testing.assert_allclose(mixed_labels.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    assert _is_cutmix(images.numpy(), mixed.numpy(), mixed_labels.numpy())


def test_mix_batch_switches_between_cutmix_and_mixup():
    images, labels = _batch(4)
    both = dict(mixup_alpha=0.4, cutmix_alpha=1.0)
    chosen = set()
    for s in range(8):
        mixed, mixed_labels = augment.mix_batch(images, labels, tf.constant([s, 1]), switch_prob=0.0, **both)
        assert _is_mixup(images.numpy(), labels.numpy(), mixed.numpy(), mixed_labels.numpy())
        mixed, mixed_labels = augment.mix_batch(images, labels, tf.constant([s, 1]), switch_prob=1.0, **both)
        assert _is_cutmix(images.numpy(), mixed.numpy(), mixed_labels.numpy())
        mixed, mixed_labels = augment.mix_batch(images, labels, tf.constant([s, 1]), **both)
        chosen.add(_is_cutmix(images.numpy(), mixed.numpy(), mixed_labels.numpy()))
    assert chosen == {True, False}  # switch_prob=0.5 picks each sometimes
    again = augment.mix_batch(images, labels, tf.constant([7, 1]), **both)[0]
    np.testing.assert_array_equal(again.numpy(), mixed.numpy())


def test_mix_batch_with_both_alphas_zero_returns_the_inputs():
    images, labels = _batch(3)
    mixed, mixed_labels = augment.mix_batch(images, labels, SEED)
    assert mixed is images and mixed_labels is labels


def test_mix_batch_handles_a_batch_of_one_and_a_smaller_last_batch():
    images, labels = _batch(1, classes=3)
    for alphas in (dict(mixup_alpha=0.2), dict(cutmix_alpha=1.0)):
        mixed, mixed_labels = augment.mix_batch(images, labels, SEED, **alphas)
        np.testing.assert_allclose(mixed.numpy(), images.numpy(), atol=1e-4)
        np.testing.assert_allclose(mixed_labels.numpy(), labels.numpy(), atol=1e-6)
    images, labels = _batch(5)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(3)
    seeds = tf.data.Dataset.random(seed=1).batch(2)
    data = tf.data.Dataset.zip((data, seeds)).map(
        lambda batch, seed: augment.mix_batch(*batch, seed, mixup_alpha=0.2, cutmix_alpha=1.0)
    )
    assert data.element_spec[0].shape.as_list() == [None, 8, 10, 3]
    batches = list(data)
    assert [len(x) for x, _ in batches] == [3, 2]
    for _, mixed_labels in batches:
        np.testing.assert_allclose(mixed_labels.numpy().sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(preset="autoaugment"), "preset"),
        (dict(size=0), "size"),
        (dict(size=32.0), "size"),
        (dict(crop_pct=0.0), "crop_pct"),
        (dict(crop_pct=1.5), "crop_pct"),
        (dict(random_erasing=-0.1), "random_erasing"),
        (dict(random_erasing=1.5), "random_erasing"),
        (dict(randaugment=(2,)), "randaugment"),
        (dict(randaugment=(2, 11)), "randaugment"),
        (dict(randaugment=(-1, 5)), "randaugment"),
        (dict(randaugment=("2", 9)), "randaugment"),
        (dict(randaugment=9), "randaugment"),
    ],
)
def test_bad_train_transform_arguments_raise(kwargs, name):
    arguments = dict(preset="resnet", size=32) | kwargs
    with pytest.raises(ValueError, match=f"Received: {name}="):
        augment.train_transform(_image(8, 8), SEED, **arguments)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="'alexnet', 'vgg', 'inception', 'resnet', 'cifar', 'none'"):
        augment.train_transform(_image(8, 8), SEED, preset="VGG", size=32)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: augment.eval_transform(_image(8, 8), size=-1), "size"),
        (lambda: augment.eval_transform(_image(8, 8), size=8, crop_pct=2), "crop_pct"),
        (lambda: augment.pca_lighting(_image(8, 8, 1), SEED), "image.shape"),
        (lambda: augment.pca_lighting(_image(8, 8), SEED, sigma=-1), "sigma"),
        (lambda: augment.one_hot(0, 3, smoothing=1.0), "smoothing"),
        (lambda: augment.mix_batch(*_batch(2), SEED, mixup_alpha=-1), "mixup_alpha"),
        (lambda: augment.mix_batch(*_batch(2), SEED, cutmix_alpha=-1), "cutmix_alpha"),
        (lambda: augment.mix_batch(*_batch(2), SEED, cutmix_alpha=1, switch_prob=2), "switch_prob"),
    ],
)
def test_bad_arguments_raise_in_keras_style(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        call()
