"""GoogLeNet and BN-Inception against the papers' tables, and GoogLeNet's auxiliary heads."""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import layers as blocks
from keras_cnns.models.googlenet import GOOGLENET_MODULES, GoogLeNet, Module
from tests.reference import googlenet as ref

#: Szegedy et al. 2014, Table 1 at 224: output size, depth and the "params" column (K).
TABLE1 = {
    "inception_3a": (28, 256, 159),
    "inception_3b": (28, 480, 380),
    "inception_4a": (14, 512, 364),
    "inception_4b": (14, 512, 437),
    "inception_4c": (14, 512, 463),
    "inception_4d": (14, 528, 580),
    "inception_4e": (14, 832, 840),
    "inception_5a": (7, 832, 1072),
    "inception_5b": (7, 1024, 1388),
}
#: Weights (no biases) from Table 1's widths, in# x (1x1 + 3x3 reduce + 5x5 reduce +
#: pool proj) + 9 x 3x3reduce x 3x3 + 25 x 5x5reduce x 5x5, e.g. 3a:
#: 192 * (64 + 96 + 16 + 32) + 9 * 96 * 128 + 25 * 16 * 32 = 39,936 + 110,592 + 12,800.
TABLE1_WEIGHTS = {
    "inception_3a": 163_328,
    "inception_3b": 388_096,
    "inception_4a": 375_552,
    "inception_4b": 448_512,
    "inception_4c": 509_440,
    "inception_4d": 604_672,
    "inception_4e": 867_328,
    "inception_5a": 1_042_432,
    "inception_5b": 1_442_816,
}
#: Ioffe and Szegedy 2015, Figure 5 at 224: output size and depth of each module.
FIGURE5 = {
    "inception_3a": (28, 256),
    "inception_3b": (28, 320),
    "inception_3c": (14, 576),
    "inception_4a": (14, 576),
    "inception_4b": (14, 576),
    "inception_4c": (14, 608),
    "inception_4d": (14, 608),
    "inception_4e": (7, 1056),
    "inception_5a": (7, 1024),
    "inception_5b": (7, 1024),
}


def _weights_only(layer):
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights if len(w.shape) == 4)


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_googlenet_table1_sizes_depths_and_weights():
    model = keras_cnns.googlenet(include_top=False, input_shape=(224, 224, 3))
    for name, (size, depth, params_k) in TABLE1.items():
        layer = model.get_layer(name)
        assert layer.output.shape == (None, size, size, depth), name
        weights = _weights_only(layer)
        assert weights == TABLE1_WEIGHTS[name], name
        # Table 1's params column is rounded and does not follow exactly from its own
        # widths (4c: 509K from the widths, 463K printed); every row is within 11 %.
        assert abs(weights / 1000 - params_k) / params_k < 0.11, name


def test_googlenet_lrn_is_caffes():
    model = keras_cnns.googlenet(include_top=False, input_shape=(31, 31, 3))
    lrn = model.get_layer("lrn1")
    x = np.random.default_rng(0).normal(size=(1, 3, 3, 8)).astype("float32") * 30
    got = keras.ops.convert_to_numpy(lrn(x))
    # bvlc_googlenet: local_size 5, alpha 1e-4 (Caffe divides it by local_size), beta 0.75, k 1.
    expected = np.empty_like(x)
    for c in range(8):
        window = x[..., max(0, c - 2) : c + 3]
        expected[..., c] = x[..., c] / (1.0 + 1e-4 / 5 * (window**2).sum(-1)) ** 0.75
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bn_inception_figure5_sizes_and_depths():
    model = keras_cnns.bn_inception(include_top=False, input_shape=(224, 224, 3))
    for name, (size, depth) in FIGURE5.items():
        assert model.get_layer(name).output.shape == (None, size, size, depth), name


def test_bn_inception_drops_exactly_the_caffe_ports_conv_biases():
    model = keras_cnns.bn_inception(input_shape=(32, 32, 3))  # parameter counts do not depend on size
    trainable = _trainable(model)
    bn_channels = (model.count_params() - trainable) // 2  # each has a moving mean and variance
    assert trainable == ref.PARAMS["bn_inception"]
    # Every convolution is followed by batch norm; the Caffe port (Cadene) adds one bias
    # per output channel: 11,295,240.
    assert trainable + bn_channels == 11_295_240
    epsilons = {m.epsilon for m in model._flatten_layers() if isinstance(m, keras.layers.BatchNormalization)}
    assert epsilons == {1e-5}


def test_bn_inception_average_pooling_counts_the_padding():
    module = blocks.BNInceptionModule(2, 3, 4, 1, 2, 2)
    module.build((None, 4, 4, 1))
    pooled = keras.ops.convert_to_numpy(module.pool_layer(module.pool_pad(np.ones((1, 4, 4, 1), "float32"))))
    # Caffe's AVE pooling divides by 9 at the border too: 4 / 9 in a corner, 6 / 9 on an edge.
    np.testing.assert_allclose(pooled[0, :2, :2, 0], [[4 / 9, 6 / 9], [6 / 9, 1.0]], rtol=1e-6)


def test_googlenet_aux_heads_at_224():
    model = keras_cnns.googlenet(aux_logits=True)
    assert model.output_names == ["predictions", "aux1", "aux2"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 3
    assert _trainable(model) == ref.PARAMS_AUX["googlenet"]
    # aux1 on inception_4a (512 channels), aux2 on inception_4d (528): 4x4 after pooling.
    assert model.get_layer("aux1").conv.conv.kernel.shape == (1, 1, 512, 128)
    assert model.get_layer("aux2").conv.conv.kernel.shape == (1, 1, 528, 128)
    assert model.get_layer("aux1").head.hidden[0].kernel.shape == (4 * 4 * 128, 1024)
    macs = keras_cnns.count_macs(model) / 1e9
    assert f"{macs:.3f}" == ref.MACS_AUX["googlenet"]


def test_googlenet_aux_trains_and_inference_model_drops_it():
    model = keras_cnns.googlenet(aux_logits=True, input_shape=(96, 96, 3), num_classes=4)
    # Section 5: the auxiliary losses are added with weight 0.3.
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=["sparse_categorical_crossentropy"] * 3,
        loss_weights=[1.0, 0.3, 0.3],
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 96, 96, 3)).astype("float32")
    y = rng.integers(0, 4, 2)
    history = model.fit(x, [y, y, y], epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    inference = keras_cnns.inference_model(model)
    assert len(inference.outputs) == 1
    aux = {id(w) for name in ("aux1", "aux2") for w in model.get_layer(name).weights}
    assert {id(w) for w in inference.weights} == {id(w) for w in model.weights} - aux
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(inference(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)[0]),
    )


def test_aux_logits_needs_the_head_and_a_large_enough_input():
    with pytest.raises(ValueError, match=r"Received: aux_logits=True with include_top=False"):
        keras_cnns.googlenet(aux_logits=True, include_top=False)
    with pytest.raises(ValueError, match=r"at least 79x79 .*Received: input_shape=\(78, 78, 3\)"):
        keras_cnns.googlenet(aux_logits=True, input_shape=(78, 78, 3))
    with pytest.raises(ValueError, match=r"static input of at least 79x79"):
        keras_cnns.googlenet(aux_logits=True, input_shape=(None, None, 3))
    model = keras_cnns.googlenet(aux_logits=True, input_shape=(79, 79, 3), num_classes=3)
    assert model.get_layer("aux1").output.shape == (None, 3)
    with pytest.raises(ValueError, match=r"Received: aux_after=\(\)"):
        keras_cnns.bn_inception(aux_logits=True)


def test_googlenet_bn_is_torchvisions_layout():
    """torchvision's GoogLeNet (the TF-slim network): batch norm with epsilon 1e-3 and no
    conv bias, a 3x3 "5x5" branch, no LRN, a 2x2/2 pool4 and dropout 0.2 (its outputs are
    compared with torchvision's in tests/test_torchvision.py)."""
    model = keras_cnns.create_model("googlenet_bn")
    module = model.get_layer("inception_4e")
    assert module.branch5x5.conv.kernel.shape[:2] == (3, 3) and not module.branch5x5.use_bias
    assert module.branch5x5.bn.epsilon == 1e-3
    assert model.get_layer("pool4").pool_size == (2, 2) and model.get_layer("pool3").pool_size == (3, 3)
    assert not [layer.name for layer in model.layers if layer.name.startswith("lrn")]
    assert model.get_layer("head").dropout == 0.2
    # Module tables may come from a JSON config: lists for Module and Pool rows.
    rows = [list(row) if isinstance(row, tuple) else row for row in GOOGLENET_MODULES]
    rows[rows.index("pool4")] = ["pool4", 2]
    again = keras_cnns.create_model("googlenet_bn", modules=rows, include_top=False)
    assert again.count_params() == keras_cnns.create_model("googlenet_bn", include_top=False).count_params()
    assert again.get_layer("pool4").pool_size == (2, 2)


def test_googlenet_modules_cannot_stride():
    with pytest.raises(ValueError, match=r"Received: strides=2 in inception_3a"):
        GoogLeNet(modules=(Module("inception_3a", (64, 96, 128, 16, 32, 32), "max", 2),))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.InceptionModule(64, 96, 128, 16, 0, 32), r"Received: filters_5x5=0"),
        (lambda: blocks.InceptionModule(64, 96, 128, 16, 32, 32, kernel_5x5=4), r"odd.*Received: kernel_5x5=4"),
        (lambda: blocks.BNInceptionModule(64, 64, 64, 64, 96, 32, pool="sum"), r"Received: pool='sum'"),
        (lambda: blocks.BNInceptionModule(64, 64, 64, 64, 96, 32, strides=3), r"Received: strides=3"),
        (lambda: blocks.BNInceptionModule(0, 64, 64, 64, 96, 32), r"Received: filters_1x1=0"),
        (
            lambda: blocks.BNInceptionModule(64, 128, 160, 64, 96, 0, pool="max", strides=2),
            r"expected filters_1x1=0, filters_pool_proj=0 and pool='max'. Received: filters_1x1=64",
        ),
        (lambda: blocks.InceptionAux(0), r"Received: num_classes=0"),
    ],
)
def test_bad_block_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_aux_block_needs_a_static_input_of_5x5():
    with pytest.raises(ValueError, match=r"at least 5x5. Received: input_shape=\(None, 4, 4, 8\)"):
        blocks.InceptionAux(3).build((None, 4, 4, 8))
