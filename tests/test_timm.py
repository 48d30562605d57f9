"""timm's and Cadene's pretrainedmodels' models and weights: the converted keras_cnns
models compute what theirs compute, and the descriptors say what timm's pretrained cfgs
and pretrainedmodels' settings publish.

The source models are built by their own packages with random weights and randomized
batch-norm statistics (and conv biases, which BN-Inception's Caffe port folds into its
batch norms); nothing is downloaded. Without torch, timm or pretrainedmodels the tests
that need them skip.
"""

import re

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='torch is not installed: pip install "keras-cnns[torch]"')
timm = pytest.importorskip("timm", reason="timm is not installed")

import keras_cnns  # noqa: E402
from keras_cnns.models.convert import (  # noqa: E402
    declared,
    from_pretrainedmodels,
    from_pretrainedmodels_state_dict,
    from_timm,
    from_timm_state_dict,
)
from keras_cnns.weights import fetch, state_dict  # noqa: E402
from keras_cnns.weights.base import SKIP, weighted_layers  # noqa: E402
from keras_cnns.weights.preprocessing import IMAGENET_RGB  # noqa: E402
from keras_cnns.weights.timm import TimmWeights  # noqa: E402
from tests.oracles import assert_close as _assert_close  # noqa: E402
from tests.oracles import images as _images  # noqa: E402
from tests.oracles import keras_outputs as _keras  # noqa: E402
from tests.oracles import torch_outputs as _torch  # noqa: E402

#: timm architecture -> (our variant, its TimmWeights), as the families declare them.
TIMM = {weights.model: (variant, weights) for variant, weights in declared(TimmWeights)}
#: Comparisons: timm architecture -> input size (odd where the minimum allows, so a
#: floor/ceil slip in padding or pooling would show).
COMPARED = {"resnet18": 99, "resnet50": 64, "resnext101_32x4d": 33, "inception_v4": 75}


def _randomized(module, seed=1):
    """``module`` with batch-norm statistics, affine parameters and conv biases drawn at
    random (fresh ones would be 0 / 1 / 0), in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    draw = lambda t, low, high: t.copy_(torch.rand(t.shape, generator=generator) * (high - low) + low)  # noqa: E731
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                for tensor, low, high in ((m.running_mean, -0.5, 0.5), (m.running_var, 0.5, 2.0),
                                          (m.weight, 0.5, 1.5), (m.bias, -0.2, 0.2)):
                    draw(tensor, low, high)
            elif isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                draw(m.bias, -0.5, 0.5)
    return module.eval()


def _timm_model(name, **kwargs):
    torch.manual_seed(0)
    return _randomized(timm.create_model(name, pretrained=False, **kwargs))


def _cadene_model():
    pretrainedmodels = pytest.importorskip("pretrainedmodels", reason="pretrainedmodels is not installed")
    torch.manual_seed(0)
    return _randomized(pretrainedmodels.bninception(num_classes=1000, pretrained=None))


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "hf" / "hub"


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


# --- Conversions -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(COMPARED))
def test_converted_models_compute_what_timm_computes(name, cheap_init):
    tm = _timm_model(name)
    model = from_timm(tm, input_shape=(None, None, 3))
    assert model.name == TIMM[name][0]
    assert model.count_params() == sum(t.numel() for k, t in tm.state_dict().items() if "num_batches" not in k)
    x, x_keras = _images(COMPARED[name])
    _assert_close(_keras(model, x_keras), _torch(tm, x))
    if name == "resnet18":
        features = from_timm(tm, include_top=False, pooling="avg", input_shape=(64, 64, 3))
        x, x_keras = _images(64, seed=1)
        with torch.no_grad():
            pooled = tm.forward_head(tm.forward_features(torch.from_numpy(x)), pre_logits=True).numpy()
        _assert_close(_keras(features, x_keras), pooled)


def test_bn_inception_computes_what_cadenes_computes(torch_home, cheap_init):
    cadene = _cadene_model()
    model = from_pretrainedmodels(cadene)
    assert model.name == "bn_inception"
    # Cadene's port keeps a conv bias before every batch norm: folded, one weight per channel fewer.
    biases = sum(m.bias.numel() for m in cadene.modules() if isinstance(m, torch.nn.Conv2d))
    total = sum(t.numel() for k, t in cadene.state_dict().items() if "num_batches" not in k)
    assert model.count_params() == total - biases
    # Its inputs are BGR pixels minus the mean: about +-128. Its final pooling is 7x7: 224 only.
    x, x_keras = _images(224, batch=1, scale=60.0)
    logits = _torch(cadene, x)
    _assert_close(_keras(model, x_keras), logits)
    # weights="cadene": the file in torch's hub cache, where pretrainedmodels puts it.
    torch_home.mkdir(parents=True)
    torch.save(cadene.state_dict(), torch_home / "bn_inception-52deb4733.pth")
    loaded = keras_cnns.create_model("bn_inception", weights="cadene")
    assert loaded.get_layer("inception_3c").ceil_mode and loaded.get_layer("inception_4e").ceil_mode
    _assert_close(_keras(loaded, x_keras), torch.softmax(torch.from_numpy(logits), dim=1).numpy())
    # Our default pass-through pooling of the reductions (padded) gives the same sizes
    # but other values: the weights need reduction_ceil_mode=True, and say so.
    padded = keras_cnns.create_model("bn_inception", classifier_activation=None)
    padded.set_weights(model.get_weights())
    inception_3c = [keras.Model(m.input, m.get_layer("inception_3c").output) for m in (model, padded)]
    ours, theirs = (_keras(m, x_keras) for m in inception_3c)
    assert ours.shape == theirs.shape == (1, 14, 14, 576) and not np.allclose(ours, theirs, atol=1e-2)
    with pytest.raises(ValueError, match=r"reduction_ceil_mode=True. Received: reduction_ceil_mode=False"):
        from_pretrainedmodels(cadene, reduction_ceil_mode=False)


def test_state_dicts_of_any_classes_and_tagged_names(tmp_path, cheap_init):
    tm = _timm_model("resnet18", num_classes=7)
    model = from_timm_state_dict("resnet18.a1_in1k", tm.state_dict(), input_shape=(64, 64, 3))
    assert model.output_shape == (None, 7)
    assert model.get_layer("predictions").activation.__name__ == "linear"  # logits
    x, x_keras = _images(64)
    _assert_close(_keras(model, x_keras), _torch(tm, x))
    # A .safetensors file reads without torch, as NumPy arrays.
    safetensors = pytest.importorskip("safetensors.torch")
    path = tmp_path / "model.safetensors"
    safetensors.save_file(tm.state_dict(), str(path))
    loaded = state_dict.load_state_dict(path)
    assert isinstance(loaded["fc.weight"], np.ndarray)
    probabilities = from_timm_state_dict("resnet18", loaded, input_shape=(64, 64, 3), classifier_activation="softmax")
    _assert_close(_keras(probabilities, x_keras), torch.softmax(torch.from_numpy(_torch(tm, x)), dim=1).numpy())


# --- weights="timm" and weights="cadene" ---------------------------------------------------


def test_weights_timm_loads_the_file_timm_downloaded(hf_cache, tmp_path, monkeypatch, cheap_init):
    safetensors = pytest.importorskip("safetensors.torch")
    tm = _timm_model("resnet18")
    # The layout huggingface_hub writes: snapshots/<commit>/model.safetensors, refs/main.
    repo = hf_cache / "models--timm--resnet18.a1_in1k"
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    safetensors.save_file(tm.state_dict(), str(repo / "snapshots" / "0123abcd" / "model.safetensors"))
    model = keras_cnns.create_model("resnet18", weights="timm", input_shape=(64, 64, 3))
    x, x_keras = _images(64)
    _assert_close(_keras(model, x_keras), torch.softmax(torch.from_numpy(_torch(tm, x)), dim=1).numpy())
    # HF_HUB_CACHE wins over HF_HOME.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    with pytest.raises(OSError, match=re.escape(str(tmp_path / "elsewhere" / "models--timm--resnet18.a1_in1k"))):
        monkeypatch.setattr(fetch, "unreachable", lambda url: "offline")
        keras_cnns.create_model("resnet18", weights="timm", input_shape=(64, 64, 3))


def test_weights_timm_offline_names_the_file_the_url_and_the_folder(hf_cache, monkeypatch):
    pytest.importorskip("safetensors")
    monkeypatch.setattr(fetch, "unreachable", lambda url: "offline")
    folder = hf_cache / "models--timm--inception_v4.tf_in1k" / "snapshots" / "main"
    url = "https://huggingface.co/timm/inception_v4.tf_in1k/resolve/main/model.safetensors"
    with pytest.raises(OSError, match=re.escape(f"model.safetensors (offline). Download {url} and place it at "
                                                f"{folder / 'model.safetensors'}")):
        keras_cnns.create_model("inception_v4", weights="timm")


def test_weights_cadene_offline_names_the_file_the_url_and_the_folder(torch_home, monkeypatch):
    monkeypatch.setattr(fetch, "unreachable", lambda url: "offline")
    url = "http://data.lip6.fr/cadene/pretrainedmodels/bn_inception-52deb4733.pth"
    with pytest.raises(OSError, match=re.escape(f"bn_inception-52deb4733.pth (offline). Download {url} and place it "
                                                f"at {torch_home / 'bn_inception-52deb4733.pth'}")):
        keras_cnns.create_model("bn_inception", weights="cadene")


# --- What the descriptors declare -----------------------------------------------------------


def test_the_timm_descriptors_are_timms_pretrained_cfgs():
    assert sorted(TIMM) == ["inception_v4", "resnet101", "resnet152", "resnet18", "resnet34", "resnet50",
                            "resnext101_32x4d"]
    for name, (variant, ours) in TIMM.items():
        cfg = timm.models.get_pretrained_cfg(f"{name}.{ours.pretrained_tag}").to_dict()
        assert ours.hub_id == cfg["hf_hub_id"] and ours.license == cfg["license"], name
        assert ours.url == f"https://huggingface.co/{cfg['hf_hub_id']}/resolve/main/model.safetensors"
        prep = ours.preprocessing
        np.testing.assert_allclose(prep.mean, np.array(cfg["mean"]) * 255)
        np.testing.assert_allclose(prep.std, np.array(cfg["std"]) * 255)
        # The crop of the results CSV's row at 224 (299): the cfg's own, or its test crop at that size.
        size = 299 if name == "inception_v4" else 224
        crop = cfg["crop_pct"] if cfg["input_size"][1] == size else cfg["test_crop_pct"]
        assert cfg["input_size"][1] == size or cfg["test_input_size"][1] == size, name
        assert (prep.crop_pct, prep.interpolation, prep.channel_order) == (crop, cfg["interpolation"], "RGB"), name
        assert ours.num_classes == cfg["num_classes"] and keras_cnns.model_info(variant).default_size == size
    assert TIMM["resnet50"][1].options == {"stride_in_3x3": True}
    assert keras_cnns.model_info("resnet18").weights[0].tag == "timm"  # preferred: better than torchvision's
    tags = keras_cnns.model_info("resnet50").tags
    assert tags.index("imagenet") < tags.index("torchvision") < tags.index("timm")


def test_the_cadene_descriptor_is_pretrainedmodels_settings():
    pretrainedmodels = pytest.importorskip("pretrainedmodels", reason="pretrainedmodels is not installed")
    ours = keras_cnns.model_info("bn_inception").get_weights("cadene")
    settings = pretrainedmodels.pretrained_settings["bninception"]["imagenet"]
    assert ours.url == settings["url"] and ours.num_classes == settings["num_classes"]
    assert ours.checksum == "sha256:" + re.search(r"-([0-9a-f]+)\.pth$", settings["url"])[1]
    prep = ours.preprocessing
    assert (prep.channel_order, prep.mean, prep.std) == (settings["input_space"], tuple(settings["mean"]),
                                                         tuple(settings["std"]))
    assert settings["input_range"] == [0, 255] and prep.crop_pct == settings["input_size"][1] / 256
    assert ours.license.startswith("not stated") and ours.top1 == 73.524  # Cadene states terms for its code only


# --- Errors -------------------------------------------------------------------------------


def test_models_and_names_that_are_not_covered_are_named(cheap_init):
    with pytest.raises(ValueError, match=r"Unsupported timm model: a ResNet that is none of .*resnet18, .*"
                                         r"Received: timm_model=timm.models.resnet.ResNet"):
        from_timm(timm.create_model("resnet18d"))  # a deep stem
    with pytest.raises(ValueError, match=r"Unsupported timm model; supported: .*resnet18.*Received: name='resnet26'"):
        from_timm_state_dict("resnet26", {})
    with pytest.raises(ValueError, match=r"Unsupported Cadene model; supported: bninception. Received: name='vgg16'"):
        from_pretrainedmodels_state_dict("vgg16", {})
    with pytest.raises(ValueError, match=r"Unsupported torchvision model: a ResNet .*Received: tv_model=timm"):
        keras_cnns.from_torchvision(timm.create_model("resnet18"))  # timm's ResNet is not torchvision's
    with pytest.raises(ValueError, match=r"inception_v4 has no 'cadene' weights.*Received: weights='cadene'"):
        keras_cnns.create_model("inception_v4", weights="cadene")


def test_a_state_dict_of_another_model_names_the_key_or_the_layer(cheap_init):
    state = timm.create_model("resnet18", num_classes=3).state_dict()
    with pytest.raises(ValueError, match=r"receives no weights from the state dict of timm's resnet34"):
        from_timm_state_dict("resnet34", state, include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"Cannot map timm's conv1 \(weight\) of inception_v4"):
        from_timm_state_dict("inception_v4", state, include_top=False, input_shape=(75, 75, 3))
    state["layer1.0.conv1.weight"] = state["layer1.0.conv1.weight"][:, :, :1]
    with pytest.raises(ValueError, match=r"timm's layer1.0.conv1.weight has shape \(64, 64, 1, 3\)"):
        from_timm_state_dict("resnet18", state, include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"Cannot map Cadene's conv1 \(weight\) of bninception"):
        from_pretrainedmodels_state_dict("bninception", state, include_top=False, input_shape=(64, 64, 3))


def test_conv_biases_fold_and_a_scale_of_ones_fits_a_norm_without_scale(cheap_init):
    """The engine on a two-unit model: a source conv bias folds into the batch norm after
    the convolution; a source scale of ones fits a batch norm without one, others raise."""
    conv = torch.nn.Conv2d(3, 4, 3, padding=1, bias=True)
    norm = torch.nn.BatchNorm2d(4, eps=1e-3)
    source = _randomized(torch.nn.Sequential(conv, norm))
    with torch.no_grad():
        norm.weight.fill_(1.0)
    inputs = keras.Input((8, 8, 3))
    unit = keras_cnns.layers.ConvBNAct(4, 3, padding=1, norm_epsilon=1e-3, norm_scale=False, activation=None,
                                       name="unit")
    model = keras.Model(inputs, unit(inputs))
    weights = TimmWeights(model="tiny", pretrained_tag="t", preprocessing=IMAGENET_RGB,
                          rule={"0": "unit/conv", "1": "unit/bn", "2": SKIP}.get)
    state_dict.transfer_state_dict(source.state_dict(), model, weights)
    assert sorted(weighted_layers(model)) == ["unit/bn", "unit/conv"]
    x, x_keras = _images(8)
    np.testing.assert_allclose(_keras(model, x_keras), _torch(source, x).transpose(0, 2, 3, 1), atol=1e-5)
    with torch.no_grad():
        norm.weight[0] = 2.0
    with pytest.raises(ValueError, match=r"timm's 1.weight is not all 1, and keras_cnns layer 'unit/bn' has no scale"):
        state_dict.transfer_state_dict(source.state_dict(), model, weights)


def test_reduction_ceil_mode_is_a_layout_option():
    module = keras_cnns.layers.BNInceptionModule(0, 3, 4, 2, 2, 0, pool="max", strides=2, ceil_mode=True)
    config = module.get_config()
    assert config["ceil_mode"] is True
    assert keras_cnns.layers.BNInceptionModule.from_config(config).get_config() == config
    assert module.compute_output_shape((None, 6, 6, 4)) == (None, 3, 3, 10)
    with pytest.raises(ValueError, match=r"even input sizes. Received: input_shape=\(None, 5, 5, 4\)"):
        module.build((None, 5, 5, 4))
    with pytest.raises(ValueError, match=r"Received: ceil_mode=True, strides=1"):
        keras_cnns.layers.BNInceptionModule(2, 3, 4, 2, 2, 2, ceil_mode=True)
    with pytest.raises(ValueError, match=r"Received: reduction_ceil_mode=True, block='inception'"):
        keras_cnns.create_model("googlenet", reduction_ceil_mode=True)
    model = keras_cnns.create_model("bn_inception", reduction_ceil_mode=True, input_shape=(64, 64, 3))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == keras_cnns.model_info("bn_inception").params  # the same weights as without
    restored = keras.Model.from_config(model.get_config())
    assert restored.get_layer("inception_4e").ceil_mode and not restored.get_layer("inception_4d").ceil_mode
