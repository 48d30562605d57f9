"""keras_cnns.visualize and its command: known answers from hand-built models.

Filters with hand-set kernels (their dead share and high-frequency energy worked out
by hand), feature maps of layers with known outputs, and a model whose class score
reads only the top-left quadrant: its occlusion and Grad-CAM maps must peak there.
"""

import csv
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_cnns
from keras_cnns import visualize
from keras_cnns.__main__ import main
from keras_cnns.visualize import pictures
from keras_cnns.visualize.maps import high_frequency_share


def _checkerboard(size, channels=3):
    return np.fromfunction(lambda i, j, c: (-1.0) ** (i + j), (size, size, channels))


def _filters_model(size=4):
    """First convolution: a constant kernel, a checkerboard and an all-zero one."""
    kernels = np.stack([np.ones((size, size, 3)), _checkerboard(size), np.zeros((size, size, 3))], axis=-1)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(3, size, name="first", kernel_initializer=keras.initializers.Constant(kernels))(inputs)
    x = keras.layers.Conv2D(2, 1, name="second")(x)
    return keras.Model(inputs, x)


def test_filters_dead_share_and_high_frequency_energy_by_hand():
    view = visualize.filters(_filters_model())
    assert view.layer == "first" and view.kernels.shape == (3, 4, 4, 3)
    np.testing.assert_allclose(view.norms, [np.sqrt(48), np.sqrt(48), 0], rtol=1e-6)
    assert view.dead.tolist() == [False, False, True] and view.dead_fraction == pytest.approx(1 / 3)
    # The constant kernel is all DC, the checkerboard all at the Nyquist frequency.
    np.testing.assert_allclose(view.high_frequency, [0, 1, 0], atol=1e-6)
    assert view.high_frequency_energy == pytest.approx(0.5)


def test_high_frequency_share_splits_at_a_quarter_cycle_per_pixel():
    rows = np.arange(8)[:, None] * np.ones(8)
    low = np.cos(2 * np.pi * rows / 8)  # 1/8 cycle per pixel
    high = np.cos(2 * np.pi * 3 * rows / 8)  # 3/8
    kernels = np.stack([low, high, low + high])[..., None]
    np.testing.assert_allclose(high_frequency_share(kernels), [0, 1, 0.5], atol=1e-6)


def test_the_first_convolution_is_found_inside_blocks():
    model = keras_cnns.create_model("lenet5", input_shape=(16, 16, 1))
    view = visualize.filters(model)
    assert view.layer == "c1/conv" and view.kernels.shape == (6, 5, 5, 1)
    with pytest.raises(ValueError, match="has no Conv2D layer"):
        visualize.filters(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))


def test_the_filter_mosaic_scales_each_kernel_to_its_own_range():
    view = visualize.filters(_filters_model())
    mosaic = pictures.filter_mosaic(view.kernels)
    assert mosaic.shape == (2 * 5 - 1, 2 * 5 - 1, 3)  # 2x2 grid of 4x4 tiles, 1-pixel gaps
    np.testing.assert_allclose(mosaic[:4, :4], 0.5)  # constant: mid-grey
    np.testing.assert_allclose(mosaic[:4, 5:9, 0], (_checkerboard(4, 1)[..., 0] + 1) / 2)  # 0 and 1
    np.testing.assert_allclose(mosaic[4], 1.0)  # the gap
    bgr = np.zeros((1, 2, 2, 3), "float32")
    bgr[..., 0] = 1.0  # blue in Caffe's order
    assert pictures.filter_mosaic(bgr, bgr=True)[0, 0].tolist() == [0.0, 0.0, 1.0]


def _stages_model():
    """Two stages whose channels are constants (the biases): their order is known."""
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(5, 1, name="stage1", kernel_initializer="zeros",
                            bias_initializer=keras.initializers.Constant([3.0, 1.0, 4.0, 1.5, 9.0]))(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(3, 1, name="stage2", kernel_initializer="zeros",
                            bias_initializer=keras.initializers.Constant([2.0, 7.0, 5.0]))(x)
    return keras.Model(inputs, x)


def test_features_are_the_most_active_channels_in_order():
    model = _stages_model()
    assert visualize.feature_layers(model) == ("stage1", "stage2")  # ends of the 4x4 and 2x2 stages
    first, second = visualize.features(model, np.zeros((4, 4, 1)), top=3)
    assert first.layer == "stage1" and first.channels.tolist() == [4, 2, 0]
    np.testing.assert_allclose(first.activity, [9, 4, 3])
    assert first.maps.shape == (3, 4, 4) and np.all(first.maps[0] == 9)
    assert second.channels.tolist() == [1, 2, 0] and second.maps.shape == (3, 2, 2)
    (only,) = visualize.features(model, np.zeros((4, 4, 1)), layers=["stage2"], top=16)
    assert only.channels.tolist() == [1, 2, 0]  # fewer channels than asked
    model = keras_cnns.create_model("lenet5", input_shape=(32, 32, 1))
    assert visualize.feature_layers(model) == keras_cnns.model_info("lenet5").feature_layers
    with pytest.raises(ValueError, match=r"with a 4-D output, such as its feature layers \(c1, s2, c3, s4\)\. "
                                         r"Received: layer='head'"):
        visualize.features(model, np.zeros((32, 32, 1)), layers=["head"])


def _quadrant_model():
    """Class 0's score reads only the top-left quadrant of the features: channel 0 (bright
    pixels) counts +5, channel 1 (dark pixels) nothing; class 1 is the opposite of 0."""
    inputs = keras.Input((8, 8, 1))
    kernel = np.array([[[[1.0, -1.0]]]], "float32")
    x = keras.layers.Conv2D(2, 1, activation="relu", name="features", kernel_initializer=keras.initializers.Constant(kernel),
                            bias_initializer="zeros")(inputs)
    x = keras.layers.Cropping2D(((0, 4), (0, 4)))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    weights = np.array([[5.0, -5.0], [0.0, 0.0]], "float32")
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.Constant(weights))(x)
    return keras.Model(inputs, outputs)


def _two_spots():
    """A bright spot in the top-left quadrant, a dark one in the bottom-right."""
    image = np.zeros((8, 8, 1), "float32")
    image[1:3, 1:3] = 1.0
    image[5:7, 5:7] = -1.0
    return image


def _quadrants(heat):
    return [float(heat[r:r + 4, c:c + 4].max()) for r in (0, 4) for c in (0, 4)]


def test_gradcam_of_the_top_left_model_is_its_bright_features():
    model, image = _quadrant_model(), _two_spots()
    heat = visualize.gradcam(model, image, layer="features")  # class 0 is predicted
    assert heat.shape == (8, 8) and heat.max() == 1.0
    assert _quadrants(heat) == [1.0, 0.0, 0.0, 0.0]
    # By hand: channel 0's mean gradient is positive, channel 1's zero, so the map is
    # channel 0 (the bright spot) over its maximum.
    np.testing.assert_allclose(heat, np.maximum(image[..., 0], 0), atol=1e-6)
    assert visualize.gradcam(model, image, 1, "features").max() == 0.0  # no feature raises class 1


def test_occlusion_of_the_top_left_model_peaks_in_that_quadrant():
    model, image = _quadrant_model(), _two_spots()
    scan = visualize.occlusion_scan(model, image, patch=2, stride=1)
    assert scan.class_index == 0 and scan.rows == scan.cols == tuple(range(7))
    assert scan.probabilities.shape == (7, 7) and scan.patch == 2
    whole = keras.ops.convert_to_numpy(model(image[None]))[0, 0]
    assert scan.probability == pytest.approx(float(whole))
    # Covering the dark spot (bottom right) changes nothing; covering the bright one
    # (the grey fill is the image's mean, 0) lowers class 0 most when it covers it all.
    np.testing.assert_allclose(scan.probabilities[4:, 4:], whole, atol=1e-6)
    assert scan.probabilities.min() == scan.probabilities[1, 1] < whole - 0.05
    heat = visualize.occlusion(model, image, patch=2, stride=1)
    assert heat.shape == (8, 8) and _quadrants(heat)[0] == 1.0 and _quadrants(heat)[3] == 0.0
    assert np.unravel_index(np.argmax(heat), heat.shape) in {(1, 1), (1, 2), (2, 1), (2, 2)}


def test_occlusion_positions_reach_the_edges():
    scan = visualize.occlusion_scan(_quadrant_model(), _two_spots(), patch=3, stride=2)
    assert scan.rows == scan.cols == (0, 2, 4, 5)
    with pytest.raises(ValueError, match=r"Expected a patch from 1 to 8 pixels\. Received: patch=9"):
        visualize.occlusion(_quadrant_model(), _two_spots(), patch=9)
    with pytest.raises(ValueError, match=r"Expected a class index in \[0, 2\)\. Received: class_index=2"):
        visualize.occlusion(_quadrant_model(), _two_spots(), class_index=2)


def test_gradcam_differentiates_the_scores_before_the_softmax_of_our_head():
    """ResNet-20's head is a ClassifierHead: Grad-CAM weighs the channels with the
    gradients of its logits, as TensorFlow's tape gives them for the model cut by hand."""
    import tensorflow as tf

    model = keras_cnns.create_model("resnet20", input_shape=(16, 16, 3))
    image = np.random.default_rng(0).normal(size=(16, 16, 3)).astype("float32")
    assert visualize.gradcam_layer(model) == "conv4_block3"  # 4x4: the last feature layer
    head, predictions = model.get_layer("head"), model.get_layer("predictions")
    predictions.activation = None  # keras.applications' contract: the model then gives logits
    a = tf.convert_to_tensor(keras.Model(model.input, model.get_layer("conv4_block3").output)(image[None]))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(a)
        logits = predictions(head(a))
        scores = [logits[0, c] for c in range(10)]
    logits_out = keras.ops.convert_to_numpy(model(image[None]))
    predictions.activation = keras.activations.softmax
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), logits_out, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(logits)),
                               keras.ops.convert_to_numpy(model(image[None])), atol=1e-6)
    shown = 0
    for c, score in enumerate(scores):
        grads = tape.gradient(score, a)
        cam = np.maximum((a[0] * tf.reduce_mean(grads, axis=(1, 2))[0]).numpy().sum(-1), 0)
        cam = tf.image.resize(cam[None, :, :, None], (16, 16)).numpy()[0, :, :, 0]
        expected = cam / cam.max() if cam.max() > 0 else cam
        np.testing.assert_allclose(visualize.gradcam(model, image, c), expected, atol=1e-5)
        shown += cam.max() > 0
    assert shown >= 3  # some classes have a map, others none: both are checked


# The command ------------------------------------------------------------------------


def _png_size(path):
    with Image.open(path) as image:
        return image.size


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """LeNet-5 after one epoch on the bundled digits, and a digit as a PNG file."""
    from sklearn.datasets import load_digits

    from keras_cnns.training import resolve, train

    folder = tmp_path_factory.mktemp("visualize")
    run = folder / "run"
    config = resolve({"arch": "lenet5", "image_size": 32, "epochs": 1, "output": str(run), "export": False,
                      "data_dir": str(folder / "tfds"), "verbose": "0"})
    train(config, log=lambda *_: None)
    digits = load_digits()
    Image.fromarray(np.round(digits.images[3] * 255 / 16).astype(np.uint8)).save(folder / "three.png")
    return run, folder / "three.png"


def test_the_command_on_a_digits_run_writes_every_view(digits_run, capsys):
    run, digit = digits_run
    assert main(["visualize", "--weights", str(run), str(digit)]) == 0
    printed = capsys.readouterr().out
    folder = run / "visualize"
    layers = keras_cnns.model_info("lenet5").feature_layers
    expected = {"lenet5_filters.png", "lenet5_filters.csv", "three_gradcam.png", "three_occlusion.png",
                *(f"three_features_{layer}.png" for layer in layers)}
    assert set(os.listdir(folder)) == expected
    for view, size in pictures.SIZES.items():
        for name in expected:
            if name.endswith(".png") and f"_{view}" in name:
                assert _png_size(folder / name) == size, name
    with open(folder / "lenet5_filters.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and set(rows[0]) == {"filter", "norm", "relative_norm", "dead", "high_frequency"}
    assert max(float(row["relative_norm"]) for row in rows) == 1.0
    assert "lenet5 c1/conv: 6 filters 5x5x1, " in printed and f"filters: {folder / 'lenet5_filters.png'}" in printed
    # The run's class names ("0" ... "9") title the image views.
    line = next(line for line in printed.splitlines() if line.startswith(str(digit)))
    assert line.split(": ", 1)[1].split(" (")[0] in [str(d) for d in range(10)]
    assert f"  {folder / 'three_gradcam.png'}" in printed


def test_the_command_with_a_class_a_layer_and_a_comparison(digits_run, tmp_path, capsys):
    run, digit = digits_run
    other = keras_cnns.create_model("lenet5", input_shape=(32, 32, 1))
    other.save_weights(tmp_path / "other.weights.h5")
    status = main(["visualize", "--weights", str(run), str(digit), "--what", "filters,gradcam,features",
                   "--class", "7", "--layer", "c3", "--compare", "lenet5", "--compare-weights",
                   str(tmp_path / "other.weights.h5"), "--image-size", "32", "--output", str(tmp_path / "out")])
    assert status == 0
    printed = capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "out")) == [
        "lenet5_2_filters.csv", "lenet5_filters.csv", "lenet5_vs_lenet5_2_filters.png", "three_features_c3.png",
        "three_gradcam.png"]
    assert _png_size(tmp_path / "out" / "lenet5_vs_lenet5_2_filters.png") == (1600, 800)  # two panels
    assert f"{digit}: 7 (" in printed


def test_the_command_on_a_random_imagenet_shaped_model(tmp_path, capsys):
    model = keras_cnns.create_model("mobilenet", alpha=0.25, input_shape=(64, 64, 3))
    model.save_weights(tmp_path / "random.weights.h5")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 70, 3), dtype=np.uint8)).save(tmp_path / "noise.jpg")
    status = main(["visualize", "--arch", "mobilenet", "--alpha", "0.25", "--image-size", "64", "--weights",
                   str(tmp_path / "random.weights.h5"), str(tmp_path / "noise.jpg"), str(tmp_path / "missing.jpg"),
                   "--what", "gradcam,occlusion", "--class", "tabby", "--patch", "16", "--stride", "16",
                   "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 1  # the missing file: an error line, the other image still drawn
    assert f"error: {tmp_path / 'missing.jpg'}: no such file" in captured.err
    assert sorted(os.listdir(tmp_path / "out")) == ["noise_gradcam.png", "noise_occlusion.png"]
    assert _png_size(tmp_path / "out" / "noise_occlusion.png") == pictures.SIZES["occlusion"]
    assert f"{tmp_path / 'noise.jpg'}: tabby (n02123045) (" in captured.out


@pytest.mark.parametrize("argv, message", [
    (["--what", "filters,edges"], "--what takes a comma-separated list of filters, features, gradcam, occlusion. "
                                  "Received: --what filters,edges"),
    (["--what", "gradcam"], "gradcam need image files. Received: --what gradcam and no image"),
    (["IMAGE", "--class", "10"], r"--class must be a class index in \[0, 10\) or a class name. Received: --class 10"),
    (["IMAGE", "--class", "eleven"], "or one of the model's class names .* Received: --class eleven"),
    (["IMAGE", "--layer", "head", "--what", "gradcam"], "Received: layer='head'"),
    (["IMAGE", "--patch", "0"], "--patch must be a positive int. Received: --patch 0"),
    (["IMAGE", "--what", "gradcam,occlusion", "--compare", "alexnet"], "--compare puts two models' filters side by side"),
])
def test_bad_input_is_one_error_line(argv, message, digits_run, tmp_path, capsys):
    import re

    run, digit = digits_run
    argv = [str(digit) if arg == "IMAGE" else arg for arg in argv]
    assert main(["visualize", "--weights", str(run), "--output", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and re.search(message, err), err


PROGRAM = """
import numpy as np, keras
from keras_cnns import visualize
inputs = keras.Input((8, 8, 1))
x = keras.layers.Conv2D(2, 1, activation="relu", name="features",
                        kernel_initializer=keras.initializers.Constant(np.array([[[[1.0, -1.0]]]])))(inputs)
x = keras.layers.GlobalAveragePooling2D()(keras.layers.Cropping2D(((0, 4), (0, 4)))(x))
outputs = keras.layers.Dense(2, activation="softmax",
                             kernel_initializer=keras.initializers.Constant(np.array([[5.0, -5.0], [0.0, 0.0]])))(x)
model = keras.Model(inputs, outputs)
image = np.zeros((8, 8, 1), "float32")
image[1:3, 1:3] = 1.0
heat = visualize.gradcam(model, image, layer="features")
scan = visualize.occlusion_scan(model, image, patch=2, stride=1)
print(keras.backend.backend(), float(np.abs(heat - np.maximum(image[..., 0], 0)).max()),
      np.unravel_index(np.argmax(scan.heatmap), (8, 8))[0], visualize.features(model, image, top=1)[0].channels[0])
"""


@pytest.mark.parametrize("backend", ["torch", "jax"])  # jax is not a test dependency: skipped unless installed
def test_the_views_run_on_the_other_backends(backend):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    used, gradcam_error, occlusion_row, top_channel = done.stdout.split()[-4:]
    assert used == backend and float(gradcam_error) < 1e-6 and int(occlusion_row) in (1, 2) and top_channel == "0"


def test_white_noise_has_the_share_of_high_frequency_bins():
    """The baseline the README reads the AlexNet and ZFNet numbers against."""
    noise = np.random.default_rng(0).normal(size=(4000, 11, 11, 3))
    assert high_frequency_share(noise).mean() == pytest.approx(1 - (5 / 11) ** 2, abs=0.005)
    noise = np.random.default_rng(1).normal(size=(4000, 7, 7, 3))
    assert high_frequency_share(noise).mean() == pytest.approx(1 - (3 / 7) ** 2, abs=0.005)
