"""Fine-tuning: weights from runs and files, another number of classes, the frozen
phase, the backbone's learning rate, frozen batch norm, resume across the unfreezing."""

import os
import pathlib
import warnings

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns.training import finetune, resolve, train
from keras_cnns.weights import classifier_layer, read_run

QUICK = dict(recipe="quick", image_size=32, batch_size=20, verbose="0", export=False)
CLASSIFIER = ("predictions/kernel", "predictions/bias")


def _by_path(model):
    return {v.path: keras.ops.convert_to_numpy(v) for v in model.weights}


def _digits(root, digits, train_per_class, val_per_class):
    """scikit-learn's digits ``digits`` as PNGs in ``root/train/<d>`` and ``root/val/<d>``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    seen = {}
    for i, (image, label) in enumerate(zip(data.images, data.target)):
        if label not in digits:
            continue
        index = seen[label] = seen.get(label, -1) + 1
        split = "train" if index < train_per_class else "val" if index < train_per_class + val_per_class else None
        if split:
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((image * 255 / 16).astype("uint8")).save(folder / f"{i}.png")
    return f"folder:{root}"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    return {"low": _digits(root / "low", range(5), 80, 10), "high": _digits(root / "high", range(5, 10), 20, 40)}


@pytest.fixture(scope="module")
def pretrained(digits, tmp_path_factory):
    """A ResNet-18 trained on the digits 0-4 (four epochs: about 99 % on their validation)."""
    folder = tmp_path_factory.mktemp("runs") / "low"
    metrics = train(resolve({**QUICK, "arch": "resnet18", "dataset": digits["low"], "epochs": 4,
                             "output": str(folder)}))
    assert metrics["top1"] > 0.9
    return str(folder)


class _Snapshot(keras.callbacks.Callback):
    """The model's weights (by path) at the end of the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.weights = _by_path(self.model)


def test_fine_tuning_a_run_on_other_classes_beats_training_from_scratch(digits, pretrained, tmp_path):
    snapshot = _Snapshot()
    options = {**QUICK, "arch": "resnet18", "dataset": digits["high"], "epochs": 2}
    tuned = train(resolve({**options, "weights": pretrained, "freeze_epochs": 1, "output": str(tmp_path / "tuned")}),
                  extra_callbacks=[snapshot])
    source = _by_path(keras.saving.load_model(os.path.join(pretrained, "best.keras"), compile=False))
    # The frozen epoch changed no backbone weight and no batch-norm statistic...
    statistics = [path for path in source if path.endswith(("moving_mean", "moving_variance"))]
    assert len(statistics) == 2 * 20  # ResNet-18's 20 batch norms
    backbone = [path for path in source if path not in CLASSIFIER]
    assert len(backbone) == len(snapshot.weights) - 2
    for path in backbone:
        np.testing.assert_array_equal(snapshot.weights[path], source[path], err_msg=path)
    # ...and trained a new classifier: the digits 5-9 are not the run's classes.
    assert not np.allclose(snapshot.weights[CLASSIFIER[0]], source[CLASSIFIER[0]])
    record = read_run(tmp_path / "tuned")
    assert record.class_names == ("5", "6", "7", "8", "9") and record.weights == pretrained
    assert record.weights_label == f"resnet18 run {pretrained}"

    scratch = train(resolve({**options, "output": str(tmp_path / "scratch")}))
    # 100 training images of the digits 5-9, 2 epochs. Observed: 0.6 against 0.2.
    print("fine-tuned", tuned["top1"], "from scratch", scratch["top1"])
    assert tuned["top1"] >= scratch["top1"] + 0.2, (tuned, scratch)


def test_create_model_keeps_every_weight_but_a_classifier_of_other_classes(pretrained, tmp_path):
    source = _by_path(keras.saving.load_model(os.path.join(pretrained, "best.keras"), compile=False))
    same = keras_cnns.create_model("resnet18", weights=pretrained, input_shape=(32, 32, 3))
    assert same.output_shape == (None, 5)  # the run's classes by default
    with warnings.catch_warnings(record=True) as caught:  # a documented path, without a warning
        warnings.simplefilter("always")
        other = keras_cnns.create_model("resnet18", weights=pretrained, input_shape=(32, 32, 3), num_classes=7)
    assert [str(w.message) for w in caught] == []
    assert other.output_shape == (None, 7)
    for model, classifier in ((same, False), (other, True)):
        for path, value in _by_path(model).items():
            if classifier and path in CLASSIFIER:
                assert value.shape[-1] == 7
            else:
                np.testing.assert_array_equal(value, source[path], err_msg=path)
    # A .weights.h5 file: its own classes unless asked, a new classifier otherwise.
    path = str(tmp_path / "m.weights.h5")
    same.save_weights(path)
    from_h5 = keras_cnns.create_model("resnet18", weights=path, input_shape=(32, 32, 3))
    assert from_h5.output_shape == (None, 5)
    ten = keras_cnns.create_model("resnet18", weights=path, input_shape=(32, 32, 3), num_classes=10)
    weights = _by_path(ten)
    assert all(np.array_equal(weights[p], source[p]) for p in source if p not in CLASSIFIER)
    # include_top=False keeps working: the features of the run's model.
    features = keras_cnns.create_model("resnet18", weights=pretrained, include_top=False, pooling="avg",
                                       input_shape=(32, 32, 3))
    assert features.output_shape == (None, 512)


def test_a_tags_weights_load_with_another_number_of_classes(tmp_path, cheap_init):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    path = str(tmp_path / "resnet18-f37072fd.pth")  # a file in torchvision's format
    torch.save(torchvision.models.resnet18().state_dict(), path)
    full = keras_cnns.create_model("resnet18", weights=path, input_shape=(64, 64, 3))
    tuned = keras_cnns.create_model("resnet18", weights=path, input_shape=(64, 64, 3), num_classes=3)
    assert full.output_shape == (None, 1000) and tuned.output_shape == (None, 3)
    assert classifier_layer(tuned).path == "predictions"
    ours, theirs = _by_path(tuned), _by_path(full)
    assert all(np.array_equal(ours[p], theirs[p]) for p in theirs if p not in CLASSIFIER)
    state = torch.load(path, weights_only=True)
    np.testing.assert_array_equal(ours["conv1/conv/kernel"], state["conv1.weight"].numpy().transpose(2, 3, 1, 0))


def test_nin_s_classifier_is_its_last_convolution():
    model = keras_cnns.create_model("nin", input_shape=(39, 39, 3), num_classes=4)
    assert classifier_layer(model).path == "cccp8/conv"
    aux = keras_cnns.create_model("googlenet", input_shape=(79, 79, 3), num_classes=4, aux_logits=True)
    assert classifier_layer(aux).path == "predictions"
    assert {p for p in finetune.head_paths(aux) if "predictions" in p} >= set(CLASSIFIER)


def test_the_backbone_learns_at_the_scaled_rate():
    model = keras_cnns.create_model("lenet5", num_classes=3)
    start = model.get_weights()
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 1)).astype("float32")
    y = np.array([0, 1, 2, 0])
    deltas = {}
    for scale in (1.0, 0.25):
        model.set_weights(start)
        optimizer = finetune.ScaledSGD(0.1, backbone_lr_scale=scale, head=finetune.head_paths(model))
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        model.train_on_batch(x, y)
        deltas[scale] = {v.path: keras.ops.convert_to_numpy(v) - s for v, s in zip(model.weights, start)}
    for path, delta in deltas[1.0].items():
        expected = delta if path in CLASSIFIER else 0.25 * delta
        np.testing.assert_allclose(deltas[0.25][path], expected, rtol=1e-4, atol=1e-7, err_msg=path)
    assert all(np.abs(deltas[1.0][p]).max() > 0 for p in deltas[1.0])
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert restored.backbone_lr_scale == 0.25 and set(restored.head) == set(CLASSIFIER)


def _keras_file(tmp_path, arch="resnet18", **kwargs):
    path = str(tmp_path / f"{arch}.keras")
    keras_cnns.create_model(arch, input_shape=(32, 32, 3), num_classes=3, **kwargs).save(path)
    return path


def test_frozen_batch_norm_keeps_its_statistics_and_the_rest_trains(tmp_path):
    start = _keras_file(tmp_path)
    train(resolve({**QUICK, "arch": "resnet18", "dataset": "synthetic:classes=3,examples=24", "batch_size": 8,
                   "epochs": 1, "weights": start, "bn_frozen": True, "output": str(tmp_path / "run")}))
    before = _by_path(keras.saving.load_model(start))
    after = _by_path(keras.saving.load_model(str(tmp_path / "run" / "last.keras"), compile=False))
    norms = [p for p in before if "/bn/" in p]
    assert len(norms) == 4 * 20
    assert all(np.array_equal(before[p], after[p]) for p in norms)
    assert not np.allclose(before["conv1/conv/kernel"], after["conv1/conv/kernel"])


def test_an_interrupted_fine_tuning_resumes_across_the_unfreezing(tmp_path):
    from tests.test_train import assert_resumes_to_the_same_weights

    start = str(tmp_path / "lenet5.keras")
    keras_cnns.create_model("lenet5", num_classes=3).save(start)
    # Killed at the end of the frozen epoch, then in the middle of the first unfrozen one.
    assert_resumes_to_the_same_weights(
        dict(arch="lenet5", dataset="synthetic:classes=3,examples=13", batch_size=4, epochs=3, optimizer="sgd",
             lr=0.01, momentum=0.9, schedule="cosine", warmup_epochs=0, verbose="0", export=False, save_every=2,
             weights=start, freeze_epochs=1, backbone_lr_scale=0.5),
        tmp_path,
    )


def test_bad_fine_tuning_input_stops_with_one_line(pretrained, tmp_path):
    base = {**QUICK, "arch": "resnet18", "dataset": "synthetic:classes=3,examples=24", "epochs": 2}
    cases = [
        ({"weights": pretrained, "freeze_epochs": 3}, "Expected `freeze_epochs` to be an int from -1 (the whole run) "
         "to epochs (2). Received: freeze_epochs=3"),
        ({"freeze_epochs": 1}, "give --weights. Received: weights=None, freeze_epochs=1"),
        ({"arch": "zfnet", "weights": "imagenet"}, "zfnet has no 'imagenet' weights; its weights: none"),
        ({"weights": str(tmp_path / "nothing")}, "No weights file or run folder at that path"),
    ]
    for values, message in cases:
        with pytest.raises(ValueError, match=None) as error:
            resolve({**base, **values})
        assert message in str(error.value) and "\n" not in str(error.value)
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"No best.keras in that folder.*Received: weights="):
        keras_cnns.create_model("resnet18", weights=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"have no conv2_block3/conv1/conv/kernel: they are not a resnet34"):
        keras_cnns.create_model("resnet34", weights=pretrained, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"are for inputs of 3 channels. Received: input_shape=\(32, 32, 1\)"):
        keras_cnns.create_model("resnet18", weights=pretrained, input_shape=(32, 32, 1))


def test_predict_with_a_run_folder_prints_the_run_s_classes(digits, pretrained, capsys):
    from keras_cnns.__main__ import main

    image = next((pathlib.Path(digits["low"][len("folder:"):]) / "val" / "3").iterdir())
    assert main(["predict", "--weights", pretrained, "--top", "2", str(image)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(image) and len(lines) == 3
    assert lines[1].split()[-1] == "3"  # the run's class name, its most probable (99 % on these digits)
    assert all(line.split()[-1] in {"0", "1", "2", "3", "4"} for line in lines[1:])


def test_the_pipeline_prepares_images_as_the_weights_expect(tmp_path):
    from keras_cnns.training.run import preprocessing
    from keras_cnns.weights import IMAGENET_CAFFE

    info = keras_cnns.model_info("resnet50")
    ka_file = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"  # keras.applications' format
    ka_file.write_bytes(b"")
    base = {"arch": "resnet50", "dataset": "synthetic", "augment": "resnet"}
    assert preprocessing(resolve({**base, "weights": str(ka_file)}), info) == IMAGENET_CAFFE  # Caffe's BGR
    torchvision = preprocessing(resolve({**base, "weights": "torchvision"}), info)
    assert torchvision == info.get_weights("torchvision").preprocessing and torchvision.crop_pct == 224 / 232
    assert preprocessing(resolve(base), info) == info.preprocessing  # from scratch


def test_a_fine_tuning_run_warms_up_when_its_backbone_starts_training():
    from keras_cnns.training.schedules import WarmupSchedule

    schedule = WarmupSchedule(0.1, steps_per_epoch=10, epochs=4, kind="cosine", warmup_epochs=1, warmup_start=1)
    rates = [float(schedule(step)) for step in (0, 9, 10, 19, 20, 40)]
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.01, 0.1, 0.1, 0.0], atol=1e-7)  # frozen, warm-up, decay
