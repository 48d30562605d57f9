"""keras_cnns.fold_batch_norm: each batch norm after a convolution folded into it, the
function unchanged.

Batch-norm statistics, scales and shifts are random (not the ones and zeros of a fresh
model, which a fold that drops the shift or the mean would pass), and the models
return logits: a softmax would flatten the differences.
"""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import fold
from keras_cnns.layers import ConvBNAct, DepthwiseSeparableBlock

#: A small model of every family with batch norm: a variant, its input size, and builder
#: options that shrink it (fewer blocks, narrower) without changing its kinds of blocks.
#: Inception-v3 also drops the batch norms' scale (TF-slim's ``norm_scale=False``).
CASES = [
    ("resnet18", 32, {"widths": (8, 16, 16, 16)}),
    ("resnet20", 8, {}),
    ("googlenet_bn", 15, {"width_multiplier": 0.25}),
    ("inception_v3", 75, {"width_multiplier": 0.25, "norm_scale": False}),
    ("inception_v4", 75, {"blocks": (1, 1, 1), "width_multiplier": 0.25}),
    ("inception_resnet_v1", 75, {"blocks": (1, 1, 1), "width_multiplier": 0.25}),
    ("densenet121", 32, {"block_sizes": (2, 2, 2, 2), "growth_rate": 8}),
    ("mobilenet", 32, {"alpha": 0.25}),
    ("mobilenet_v2", 32, {"alpha": 0.35}),
    ("vgg11_bn", 32, {"fc_units": (32, 32)}),
]
CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def _randomize(model, seed=0):
    """Batch-norm statistics, gamma and beta, and convolution biases far from a fresh
    model's ones and zeros."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        name = w.path.rpartition("/")[2]
        if name in ("moving_mean", "beta", "bias"):
            w.assign(rng.normal(0, 0.5, w.shape))
        elif name == "moving_variance":
            w.assign(rng.uniform(0.5, 2.0, w.shape))
        elif name == "gamma":
            w.assign(rng.uniform(0.5, 1.5, w.shape))


def _batch_norms(model):
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]


def _conv_then_bn(model):
    """Batch norms that directly follow a convolution in a block's call order, by type
    alone (none of ``foldable_pairs``' other conditions)."""
    return [b for layer in model._flatten_layers() for chain in fold._chains(layer)
            for a, b in zip(chain, chain[1:]) if isinstance(a, CONVOLUTIONS) and isinstance(b, keras.layers.BatchNormalization)]


def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _relative(actual, expected):
    return np.abs(actual - expected).max() / np.abs(expected).max()


def test_the_cases_cover_every_family_with_batch_norm(cheap_init):
    covered = {keras_cnns.model_info(name).family for name, _, _ in CASES}
    for name in keras_cnns.list_models():
        info = keras_cnns.model_info(name)
        if info.family not in covered:
            model = keras_cnns.create_model(name, include_top=False, input_shape=(info.min_size,) * 2 + (info.channels,))
            assert not _batch_norms(model), f"{name} has batch norms: give its family a case in CASES"


@pytest.mark.parametrize("name, size, options", CASES, ids=[case[0] for case in CASES])
def test_the_folded_model_computes_the_same_logits(name, size, options):
    model = keras_cnns.create_model(name, input_shape=(size, size, 3), num_classes=10, classifier_activation=None,
                                    **options)
    _randomize(model)
    before = [w.numpy().copy() for w in model.weights]
    pairs = _conv_then_bn(model)
    x = np.random.default_rng(1).normal(0, 1, (2, size, size, 3)).astype("float32")

    folded = keras_cnns.fold_batch_norm(model, check=False)
    assert folded is not model and folded.folded_batch_norms == len(pairs) > 0
    assert len(_batch_norms(folded)) == len(_batch_norms(model)) - len(pairs)
    assert _conv_then_bn(folded) == [] and fold.foldable_pairs(folded) == []
    assert _relative(_outputs(folded, x), _outputs(model, x)) <= fold.TOLERANCE
    # The original keeps its batch norms and weights.
    assert len(_conv_then_bn(model)) == len(pairs)
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(model.weights, before))


def _tiny(block, shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, block(inputs))


def _set_statistics(bn, rng):
    channels = bn.moving_mean.shape[0]
    if bn.scale:
        bn.gamma.assign(rng.uniform(0.5, 1.5, channels))
    bn.beta.assign(rng.normal(0, 0.5, channels))
    bn.moving_mean.assign(rng.normal(0, 0.5, channels))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, channels))


@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("norm_scale", [True, False])
def test_a_conv_bn_act_folds_to_the_hand_computed_kernel_and_bias(norm_scale, use_bias):
    rng = np.random.default_rng(0)
    model = _tiny(ConvBNAct(3, 2, use_bias=use_bias, norm_scale=norm_scale, norm_epsilon=1e-3, name="unit"), (5, 5, 2))
    block = model.get_layer("unit")
    if use_bias:
        block.conv.bias.assign(rng.normal(0, 0.5, 3))
    _set_statistics(block.bn, rng)
    kernel = block.conv.kernel.numpy()
    bias = block.conv.bias.numpy() if use_bias else np.zeros(3)
    gamma = block.bn.gamma.numpy() if norm_scale else np.ones(3)
    beta, mean, variance = block.bn.beta.numpy(), block.bn.moving_mean.numpy(), block.bn.moving_variance.numpy()
    expected_kernel, expected_bias = np.empty_like(kernel), np.empty(3)
    for o in range(3):
        s = gamma[o] / np.sqrt(variance[o] + 1e-3)
        expected_kernel[..., o] = kernel[..., o] * s
        expected_bias[o] = (bias[o] - mean[o]) * s + beta[o]

    folded = keras_cnns.fold_batch_norm(model)
    unit = folded.get_layer("unit")
    assert folded.folded_batch_norms == 1 and unit.bn is None and unit.conv.use_bias
    assert [w.path for w in folded.weights] == ["unit/conv/kernel", "unit/conv/bias"]
    assert unit.conv.bias.dtype == "float32" and unit.conv.bias.trainable
    np.testing.assert_allclose(unit.conv.kernel.numpy(), expected_kernel, rtol=1e-6)
    np.testing.assert_allclose(unit.conv.bias.numpy(), expected_bias, rtol=1e-6, atol=1e-7)
    x = rng.normal(0, 1, (2, 5, 5, 2)).astype("float32")
    assert _relative(_outputs(folded, x), _outputs(model, x)) <= 1e-6
    assert block.bn is not None and len(model.weights) == 4 + use_bias + norm_scale  # the original is untouched


def test_a_depthwise_convolution_folds_channel_c_times_multiplier_plus_j():
    rng = np.random.default_rng(0)
    model = _tiny(DepthwiseSeparableBlock(4, depth_multiplier=2, name="separable"), (5, 5, 3))
    block = model.get_layer("separable")
    _set_statistics(block.depthwise_bn, rng)
    _set_statistics(block.pointwise.bn, rng)
    kernel = block.depthwise.kernel.numpy()  # (3, 3, 3 input channels, 2 per channel)
    gamma, beta = block.depthwise_bn.gamma.numpy(), block.depthwise_bn.beta.numpy()
    mean, variance = block.depthwise_bn.moving_mean.numpy(), block.depthwise_bn.moving_variance.numpy()
    expected_kernel, expected_bias = np.empty_like(kernel), np.empty(6)
    for c in range(3):
        for j in range(2):
            o = c * 2 + j
            s = gamma[o] / np.sqrt(variance[o] + block.norm_epsilon)
            expected_kernel[:, :, c, j] = kernel[:, :, c, j] * s
            expected_bias[o] = beta[o] - mean[o] * s

    folded = keras_cnns.fold_batch_norm(model)
    unit = folded.get_layer("separable")
    assert folded.folded_batch_norms == 2 and unit.depthwise_bn is None and unit.pointwise.bn is None
    assert unit.depthwise.bias.shape == (6,)
    np.testing.assert_allclose(unit.depthwise.kernel.numpy(), expected_kernel, rtol=1e-6)
    np.testing.assert_allclose(unit.depthwise.bias.numpy(), expected_bias, rtol=1e-6, atol=1e-7)
    x = rng.normal(0, 1, (2, 5, 5, 3)).astype("float32")
    assert _relative(_outputs(folded, x), _outputs(model, x)) <= 1e-6


def test_a_batch_norm_without_center_or_scale_folds_a_zero_shift():
    conv = keras.layers.Conv2D(2, 1, use_bias=False)
    bn = keras.layers.BatchNormalization(center=False, scale=False, epsilon=0.0)
    bn(conv(np.ones((1, 1, 1, 1), "float32")))
    conv.kernel.assign([[[[1.0, -2.0]]]])
    bn.set_weights([np.array([3.0, -1.0]), np.array([4.0, 0.25])])  # moving mean, moving variance
    kernel, bias = fold.folded_weights(conv, bn)
    assert kernel.ravel().tolist() == [0.5, -4.0] and bias.tolist() == [-1.5, 2.0]


def test_a_model_without_a_pair_comes_back_as_an_equal_copy():
    model = keras_cnns.create_model("lenet5")
    folded = keras_cnns.fold_batch_norm(model)
    assert folded is not model and folded.folded_batch_norms == 0
    assert [w.path for w in folded.weights] == [w.path for w in model.weights]
    x = np.random.default_rng(0).normal(0, 1, (2, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(_outputs(folded, x), _outputs(model, x))


def test_a_pre_activation_batch_norm_stays():
    """DenseNet's layers are BN-ReLU-Conv-BN-ReLU-Conv: only the middle batch norm follows
    a convolution."""
    from keras_cnns.layers import DenseLayer

    model = _tiny(DenseLayer(4, name="dense"), (6, 6, 8))
    folded = keras_cnns.fold_batch_norm(model)
    unit = folded.get_layer("dense")
    assert folded.folded_batch_norms == 1 and unit.norm2 is None and unit.norm1 is not None
    assert unit.conv1.use_bias and not unit.conv2.use_bias


def test_the_check_names_the_block_a_wrong_fold_changes(monkeypatch):
    model = _tiny(ConvBNAct(3, 2, name="unit"), (5, 5, 2))
    _set_statistics(model.get_layer("unit").bn, np.random.default_rng(0))
    right = fold.folded_weights
    monkeypatch.setattr(fold, "folded_weights", lambda conv, bn: (right(conv, bn)[0] * 1.0002, right(conv, bn)[1]))
    with pytest.raises(ValueError, match=r"^Expected block 'unit' to compute the same outputs with its batch norms "
                                         r"folded, within 1e-05 relative; they differ by \d\.\de-04\. Received: model="):
        keras_cnns.fold_batch_norm(model)
    assert keras_cnns.fold_batch_norm(model, check=False).folded_batch_norms == 1  # unchecked, it goes through


def test_a_mixed_precision_model_folds_its_float32_variables(monkeypatch):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = keras_cnns.create_model("resnet20", input_shape=(8, 8, 3), classifier_activation=None)
    finally:
        keras.config.set_dtype_policy(previous)
    _randomize(model)
    folded = keras_cnns.fold_batch_norm(model)
    assert folded.folded_batch_norms == 19
    assert {layer.dtype_policy.name for layer in folded.layers} >= {"mixed_bfloat16"}
    assert {w.dtype for w in folded.weights} == {"float32"}
    # The same weights as a float32 copy folded: the fold reads the float32 variables.
    reference = keras_cnns.fold_batch_norm(fold.copy_model(model, float32=True))
    assert all(np.array_equal(a, b) for a, b in zip(folded.get_weights(), reference.get_weights()))
    x = np.random.default_rng(1).normal(0, 1, (2, 8, 8, 3)).astype("float32")
    assert _relative(_outputs(folded, x), _outputs(model, x)) <= 3e-2  # bfloat16's rounding, not the fold's
    # The check runs on a float32 copy, where a wrong fold shows.
    right = fold.folded_weights
    monkeypatch.setattr(fold, "folded_weights", lambda conv, bn: (right(conv, bn)[0], right(conv, bn)[1] + 1e-3))
    with pytest.raises(ValueError, match="Expected block 'conv1'"):
        keras_cnns.fold_batch_norm(model)


def test_bad_input_is_one_error_line():
    with pytest.raises(ValueError, match=r"^Expected `model` to be a built keras.Model. Received: model='resnet20'$"):
        keras_cnns.fold_batch_norm("resnet20")
    with pytest.raises(ValueError, match=r"^Expected `check` to be a bool. Received: check='yes'$"):
        keras_cnns.fold_batch_norm(keras_cnns.create_model("lenet5"), check="yes")
