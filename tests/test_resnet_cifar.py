"""The ResNet paper's CIFAR networks, their plain twins, DenseNet-BC-100 and the cifar preset.

Counts, MACs and depths of every variant are in tests/reference/ (test_models.py).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_cnns
from keras_cnns import compare
from keras_cnns import layers as blocks
from keras_cnns.data import augment
from keras_cnns.training import resolve
from keras_cnns.training.schedules import make_schedule
from tests.reference import resnet_cifar as reference


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("depth", [20, 56])
def test_plain_and_residual_twins_differ_only_by_the_shortcuts(depth):
    plain = keras_cnns.create_model(f"plain{depth}", input_shape=(16, 16, 3))
    residual = keras_cnns.create_model(f"resnet{depth}", input_shape=(16, 16, 3))
    assert _trainable(plain) == _trainable(residual) == reference.PARAMS[f"resnet{depth}"]
    assert [(w.path, w.shape) for w in plain.weights] == [(w.path, w.shape) for w in residual.weights]
    residual.set_weights(plain.get_weights())  # the same weights, another function
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    y_plain, y_residual = (keras.ops.convert_to_numpy(m(x, training=False)) for m in (plain, residual))
    assert not np.allclose(y_plain, y_residual, atol=1e-3)
    block = residual.get_layer("conv3_block1")
    assert (block.shortcut_type, block.shortcut) == ("zero_pad", None)  # option A: no projection layer
    assert plain.get_layer("conv3_block1").get_config()["shortcut"] is None


def _block_with_constant_branch(shortcut, value):
    """A stride-2 basic block 2 -> 4 channels whose residual branch outputs ``value``
    everywhere: its last batch norm's scale 0, offset ``value``."""
    block = blocks.BasicBlock(4, strides=2, shortcut=shortcut)
    block.build((None, 5, 5, 2))
    block.conv2.bn.gamma.assign(np.zeros(4, "float32"))
    block.conv2.bn.beta.assign(np.full(4, value, "float32"))
    return block


def test_option_a_shortcut_by_hand():
    x = np.arange(2 * 5 * 5 * 2, dtype="float32").reshape(2, 5, 5, 2) / 10 - 2.5
    # The input every 2 pixels from the top-left one (5 -> 3), channels 2 -> 4 with zeros after.
    shortcut = np.zeros((2, 3, 3, 4), "float32")
    shortcut[..., :2] = x[:, 0::2, 0::2, :]
    residual = _block_with_constant_branch("zero_pad", 0.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(residual(x, training=False)), np.maximum(shortcut + 0.5, 0), atol=1e-6)
    plain = _block_with_constant_branch(None, 0.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(x, training=False)), np.full((2, 3, 3, 4), 0.5), atol=1e-6)
    assert sum(int(np.prod(w.shape)) for w in residual.trainable_weights) == 9 * 2 * 4 + 9 * 4 * 4 + 2 * (4 + 4)


def test_shortcut_choices_are_checked():
    with pytest.raises(ValueError, match=r"Received: shortcut='B'"):
        blocks.BasicBlock(8, shortcut="B")
    with pytest.raises(ValueError, match=r"cannot drop channels.*Received: input channels 16, output channels 8"):
        blocks.BasicBlock(8, shortcut="zero_pad")(keras.Input((8, 8, 16)))
    with pytest.raises(ValueError, match=r"Received: widths=\(16, 32\)"):
        keras_cnns.resnet20(widths=(16, 32))


def test_a_saved_block_without_the_shortcut_key_loads_as_projection():
    """Configs written before the ``shortcut`` argument existed load as option B."""
    config = blocks.BasicBlock(8, strides=2).get_config()
    assert config["shortcut"] == "projection"
    del config["shortcut"]
    assert blocks.BasicBlock.from_config(config).shortcut_type == "projection"


def test_cifar_networks_declare_their_papers_numbers():
    errors = {name: keras_cnns.model_info(name).paper_error for name in ("resnet20", "resnet110", "resnet1202", "densenet_bc_100")}
    assert {name: (e.top1, e.dataset) for name, e in errors.items()} == {
        "resnet20": (8.75, "CIFAR-10"), "resnet110": (6.43, "CIFAR-10"), "resnet1202": (7.93, "CIFAR-10"),
        "densenet_bc_100": (4.51, "CIFAR-10")}
    assert keras_cnns.model_info("resnet20").imagenet_error is None  # not an ImageNet figure
    assert keras_cnns.model_info("plain56").paper_error is None
    info = keras_cnns.model_info("resnet56")
    assert (info.default_size, info.channels, info.preprocessing.crop_pct, info.recipe.augment) == (32, 3, 1.0, "cifar")
    rows = {row["model"]: row for row in compare.comparison("resnet[25]?")}
    assert (rows["resnet20"]["dataset"], rows["resnet20"]["top1_error"], rows["resnet50"]["dataset"]) == (
        "CIFAR-10", 8.75, "ImageNet")
    line = next(line for line in compare.markdown_table("resnet20") if "`resnet20`" in line)
    assert "| 8.75 / – | CIFAR-10: test set, Table 6 |" in line


def _rates(arch, steps_per_epoch, steps):
    config = resolve({"arch": arch, "recipe": "paper", "dataset": "synthetic"})
    schedule = make_schedule(config, steps_per_epoch)
    return [round(float(schedule(step)), 6) for step in steps]


def test_the_papers_schedules_in_iterations():
    # He et al.: lr 0.1, divided by 10 at 32k and 48k iterations (351 steps per epoch on 45k images).
    assert _rates("resnet56", 351, [0, 31_900, 32_000, 47_900, 48_000]) == [0.1, 0.1, 0.01, 0.01, 0.001]
    # ResNet-110: 0.01 for the first 400 iterations, then the same.
    assert _rates("resnet110", 351, [0, 399, 401, 31_900, 32_000, 48_000]) == [0.01, 0.01, 0.1, 0.1, 0.01, 0.001]
    # DenseNet-BC: 300 epochs, divided by 10 at 150 and 225.
    assert _rates("densenet_bc_100", 100, [0, 14_999, 15_000, 22_500]) == [0.1, 0.1, 0.01, 0.001]
    recipe = keras_cnns.model_info("densenet_bc_100").recipe
    assert (recipe.optimizer, recipe.batch_size, recipe.epochs, recipe.weight_decay) == ("nesterov", 64, 300, 1e-4)
    recipe = keras_cnns.model_info("plain20").recipe
    assert (recipe.optimizer, recipe.momentum, recipe.batch_size, recipe.epochs) == ("sgd", 0.9, 128, 182)


def test_cifar_preset_crops_stay_within_the_padded_image():
    """Each output is a 32x32 window of the image padded by 4 (zeros), maybe flipped."""
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    image = np.stack([rows * 8, cols * 8, np.full((32, 32), 255)], axis=-1).astype("uint8")  # position-coded
    shifts, flips = set(), set()
    for seed in range(40):
        out = augment.train_transform(tf.constant(image), tf.constant([seed, 7]), preset="cifar", size=32).numpy()
        inside = out[..., 2] > 127
        first = out[np.nonzero(inside.any(axis=1))[0][0]]
        coded = first[first[:, 2] > 127, 1]  # the column codes along one row
        flipped = bool(coded[0] > coded[-1])
        if flipped:  # undo the flip: then output (i, j) is image (i + dy, j + dx)
            out, inside = out[:, ::-1], inside[:, ::-1]
        r, c = np.nonzero(inside)
        top, left, bottom, right = r.min(), c.min(), r.max(), c.max()
        assert inside[top:bottom + 1, left:right + 1].all() and inside.sum() == (bottom - top + 1) * (right - left + 1)
        assert (out[~inside] == 0).all()  # the border is zeros
        dy, dx = int(round(out[top, left, 0] / 8)) - top, int(round(out[top, left, 1] / 8)) - left
        assert -4 <= dy <= 4 and -4 <= dx <= 4 and (bottom - top + 1, right - left + 1) == (32 - abs(dy), 32 - abs(dx))
        window = out[top:bottom + 1, left:right + 1]
        np.testing.assert_allclose(window[..., 0], 8 * (rows[top:bottom + 1, left:right + 1] + dy), atol=1e-3)
        np.testing.assert_allclose(window[..., 1], 8 * (cols[top:bottom + 1, left:right + 1] + dx), atol=1e-3)
        shifts.add((dy, dx))
        flips.add(flipped)
    assert flips == {True, False} and len(shifts) > 10 and augment.cifar_padding(32) == 4
