"""Bad input raises ValueError naming the received value and what is allowed."""

import pytest

import keras_cnns


def test_unknown_model_name_lists_close_names():
    with pytest.raises(ValueError, match=r"Did you mean: resnet50.*Received: name='resnt50'"):
        keras_cnns.create_model("resnt50")
    with pytest.raises(ValueError, match=r"Received: name='nothing_like_it'"):
        keras_cnns.model_info("nothing_like_it")


def test_too_small_input():
    with pytest.raises(ValueError, match=r"at least 32x32 for resnet50. Received: input_shape=\(31, 64, 3\)"):
        keras_cnns.create_model("resnet50", input_shape=(31, 64, 3))


@pytest.mark.parametrize("pooling", ["bogus", "mean", 1])
def test_bad_pooling(pooling):
    with pytest.raises(ValueError, match=rf"None, 'avg', 'max'. Received: pooling={pooling!r}"):
        keras_cnns.create_model("resnet18", include_top=False, pooling=pooling)


def test_pooling_conflicts_with_include_top():
    with pytest.raises(ValueError, match=r"Received: pooling='avg' with include_top=True"):
        keras_cnns.create_model("resnet18", pooling="avg")


@pytest.mark.parametrize("num_classes", [0, -3, 2.5, True])
def test_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match=rf"positive int. Received: num_classes={num_classes!r}"):
        keras_cnns.create_model("resnet18", num_classes=num_classes)


def test_missing_weights_file(tmp_path):
    missing = str(tmp_path / "nope.weights.h5")
    with pytest.raises(ValueError, match=r"Received: weights=.*nope.weights.h5"):
        keras_cnns.create_model("resnet18", weights=missing)


@pytest.mark.parametrize("shape", [(224, 224), (224, 224, 3, 1), (0, 224, 3), (224, 224, None)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match=r"Received: input_shape="):
        keras_cnns.create_model("resnet18", input_shape=shape)


def test_flattening_head_needs_static_size():
    with pytest.raises(ValueError, match=r"static input size.*Received: input_shape=\(None, None, 3\)"):
        keras_cnns.create_model("vgg11", input_shape=(None, None, 3))


def test_bad_builder_arguments():
    with pytest.raises(ValueError, match=r"Received: block='wide'"):
        keras_cnns.models.ResNet(block="wide", layers=(2, 2, 2, 2))
    with pytest.raises(ValueError, match=r"Received: config='F'"):
        keras_cnns.models.VGG(config="F")
