import dataclasses

import pytest

import keras_cnns
from keras_cnns.models import registry


def test_list_models_with_patterns():
    assert keras_cnns.list_models("resnet*") == ["resnet18", "resnet20", "resnet32", "resnet34", "resnet44", "resnet50",
                                                 "resnet56", "resnet101", "resnet110", "resnet152", "resnet1202"]
    assert keras_cnns.list_models("vgg1?_bn") == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    assert keras_cnns.list_models("no_such_*") == []
    assert sorted(keras_cnns.list_models()) == sorted(registry._REGISTRY)


def test_model_info_fields():
    info = keras_cnns.model_info("resnet50")
    assert info.family == "resnet"
    assert info.year == 2015 and "arxiv.org/abs/1512.03385" in info.url
    assert (info.default_size, info.min_size, info.params, info.macs) == (224, 32, 25_557_032, 3.858)
    assert info.preprocessing.channel_order in ("RGB", "BGR")
    assert "stride_in_3x3" in info.deviations
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.params = 1


@pytest.mark.parametrize("name", keras_cnns.list_models())
def test_metadata_is_complete(name):
    info = keras_cnns.model_info(name)
    assert info.name == name
    assert info.paper and info.url.startswith("https://") and 1989 <= info.year <= 2026
    assert 0 < info.min_size <= info.default_size
    assert info.builder.__doc__, f"{name} has no docstring"
    assert getattr(keras_cnns, name) is info.builder  # `from keras_cnns import <name>` works
    error = info.paper_error
    if error is not None:  # a paper's figure: a percentage, its protocol and where it is
        assert error.top1 is not None or error.top5 is not None
        assert all(e is None or 0 < e < 100 for e in (error.top1, error.top5))
        assert error.protocol and error.source and error.dataset in ("ImageNet", "CIFAR-10")


def test_registering_a_name_twice_raises():
    def resnet50(**kwargs):
        """A second resnet50."""

    with pytest.raises(ValueError, match=r"already registered. Received: name='resnet50'"):
        registry.register_model(
            paper="x", year=2015, url="https://x", default_size=224, min_size=32, params=1, macs=1.0, depth=1,
            recipe=keras_cnns.model_info("resnet50").recipe,
        )(resnet50)
    assert keras_cnns.model_info("resnet50").builder is keras_cnns.resnet50


def test_create_model_passes_keyword_arguments():
    model = keras_cnns.create_model("resnet18", num_classes=10, input_shape=(64, 64, 3), name="mine")
    assert model.name == "mine" and model.output_shape == (None, 10)
