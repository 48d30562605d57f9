"""python -m keras_cnns evaluate: hand counts, the 10-crop, a run's best epoch, bad input."""

import csv
import json
import math
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_cnns.__main__ import main
from keras_cnns.data import augment, load_dataset, load_split
from keras_cnns.evaluate import evaluate, most_confused, plot_confusion
from keras_cnns.weights.preprocessing import Preprocessing

#: Pixels scaled to [0, 1]: a solid color's mean channels are its RGB / 255.
UNIT = Preprocessing(mean=(0.0,) * 3, std=(255.0,) * 3, crop_pct=0.875)
COLORS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0)}


def _png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(pixels, np.uint8)).save(path)


def _solid(path, color, shape=(13, 19)):
    _png(path, np.broadcast_to(np.array(COLORS[color], np.uint8), (*shape, 3)))


def _color_model():
    """Mean color -> class: blue (0), green (1), red (2); never class 3 ("y"). Yellow
    ties green and red, and argmax takes the first: green."""
    kernel = np.zeros((3, 4), "float32")
    kernel[2, 0] = kernel[1, 1] = kernel[0, 2] = 10.0  # B -> b, G -> g, R -> r
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(4, activation="softmax", kernel_initializer=keras.initializers.Constant(kernel))(x)
    return keras.Model(inputs, outputs)


def test_evaluate_against_a_hand_count(tmp_path):
    # val/: the images of each class, and what the model predicts for them.
    val = {"b": ["blue", "blue", "red", "red"], "g": ["green", "blue"], "r": ["red", "red", "green"], "y": ["yellow"]}
    for name in val:
        _solid(tmp_path / "train" / name / "0.png", "blue")
    for name, colors in val.items():
        for i, color in enumerate(colors):
            _solid(tmp_path / "val" / name / f"{i}.png", color, shape=(13 + i, 19))
    batches, names, count, skipped = load_split(f"folder:{tmp_path}", image_size=8, preprocessing=UNIT, batch_size=3)
    assert names == ("b", "g", "r", "y") and count == 10 and skipped == ()
    result = evaluate(_color_model(), batches, names)

    assert result["confusion"].tolist() == [[2, 0, 2, 0], [1, 1, 0, 0], [0, 1, 2, 0], [0, 1, 0, 0]]
    assert result["count"] == 10 and result["top1"] == 5 / 10 and result["top5"] == 1.0  # 4 classes
    # A pure color's logits are 10 for its class, 0 for the 3 others; yellow's 10 for g and r.
    right, wrong = math.exp(10) / (math.exp(10) + 3), 1 / (math.exp(10) + 3)
    yellow = 1 / (2 * math.exp(10) + 2)  # its probability of class y
    expected_loss = -(5 * math.log(right) + 4 * math.log(wrong) + math.log(yellow)) / 10
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-4)
    scores = {row["class"]: (row["count"], row["predicted"], row["precision"], row["recall"], row["accuracy"])
              for row in result["per_class"]}
    assert scores == {
        "b": (4, 3, 2 / 3, 2 / 4, 2 / 4),
        "g": (2, 3, 1 / 3, 1 / 2, 1 / 2),
        "r": (3, 4, 2 / 4, 2 / 3, 2 / 3),
        "y": (1, 0, 0.0, 0.0, 0.0),  # nothing predicted as y: precision 0
    }
    assert result["labels"].tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2, 3]
    assert result["predictions"].tolist() == [0, 0, 2, 2, 1, 0, 2, 2, 1, 1]


def test_the_command_with_arch_and_a_weights_file_scores_what_the_model_predicts(tmp_path, capsys):
    import keras_cnns

    rng = np.random.default_rng(4)
    for part, count in (("train", 1), ("val", 5)):
        for name in ("a", "b", "c"):
            for i in range(count):
                _png(tmp_path / "data" / part / name / f"{i}.png", rng.integers(0, 256, (20, 17 + i, 3)))
    model = keras_cnns.create_model("lenet5", num_classes=3, input_shape=(16, 16, 1))
    model.save_weights(tmp_path / "w.weights.h5")
    spec = f"folder:{tmp_path / 'data'}"
    assert main(["evaluate", "--arch", "lenet5", "--weights", str(tmp_path / "w.weights.h5"), "--dataset", spec,
                 "--image-size", "16", "--batch-size", "4", "--output", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.startswith(f"lenet5 on {spec} (validation split, 15 images, center crop 16x16): top-1 ")

    prep = keras_cnns.model_info("lenet5").preprocessing
    batches, names, _, _ = load_split(spec, image_size=16, preprocessing=prep)
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    predictions = model.predict(images, verbose=0).argmax(axis=1)
    scores = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert scores["top1"] == np.mean(predictions == labels) and scores["top5"] == 1.0 and scores["count"] == 15
    assert scores["options"]["crop_pct"] == prep.crop_pct and scores["options"]["resize"] == round(16 / prep.crop_pct)
    with open(tmp_path / "out" / "per_class.csv") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        assert int(row["predicted"]) == np.sum(predictions == i)
        assert float(row["recall"]) == pytest.approx(np.mean(predictions[labels == i] == i))


def test_top5_and_the_loss_by_hand_and_as_keras_counts_them():
    ramp = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    logits = np.array([ramp, ramp, ramp, [0.0] * 7], "float32")
    labels = np.array([0, 4, 5, 6])  # ranks 1, 5, 6, and tied with every class
    model = keras.Sequential([keras.Input((7,)), keras.layers.Softmax()])
    result = evaluate(model, tf.data.Dataset.from_tensor_slices((logits, labels)).batch(3), [str(i) for i in range(7)])
    assert result["top1"] == 1 / 4 and result["top5"] == 3 / 4  # a tie straddling the top 5 counts as in it
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert result["loss"] == pytest.approx(-np.log(probabilities[np.arange(4), labels]).mean(), rel=1e-6)
    top5 = keras.metrics.SparseTopKCategoricalAccuracy(5)
    top5.update_state(labels, probabilities)
    assert result["top5"] == float(top5.result())
    assert [row["top5"] for row in result["per_class"]] == [1.0, 0, 0, 0, 1.0, 0.0, 1.0]


def _direct_ten_crop(pixels, size, crop_pct):
    """The 10-crop with NumPy slicing: resize the shorter side, 5 crops, their mirrors."""
    height, width = pixels.shape[:2]
    shorter = round(size / crop_pct)
    scale = shorter / min(height, width)
    new = (max(round(height * scale), shorter), max(round(width * scale), shorter))
    image = np.clip(tf.image.resize(pixels.astype("float32"), new, antialias=True).numpy(), 0, 255)
    h, w = new
    top, left = (h - size) // 2, (w - size) // 2
    five = [image[:size, :size], image[:size, w - size:], image[h - size:, :size], image[h - size:, w - size:],
            image[top:top + size, left:left + size]]
    return np.stack(five + [np.flip(crop, axis=1) for crop in five])


def test_ten_crop_is_the_corners_the_center_and_their_mirrors():
    pixels = np.random.default_rng(0).integers(0, 256, (23, 31, 3)).astype("uint8")
    crops = augment.ten_crop(tf.constant(pixels), size=12, crop_pct=0.8).numpy()
    assert crops.shape == (10, 12, 12, 3)
    np.testing.assert_allclose(crops, _direct_ten_crop(pixels, 12, 0.8), atol=1e-4)
    np.testing.assert_allclose(crops[4], augment.eval_transform(tf.constant(pixels), size=12, crop_pct=0.8), atol=0)
    full = augment.full_transform(tf.constant(pixels), size=12).numpy()
    np.testing.assert_allclose(full, tf.image.resize(pixels.astype("float32"), (12, 12), antialias=True), atol=1e-4)


def test_ten_crop_evaluation_averages_the_probabilities_of_the_crops(tmp_path):
    rng = np.random.default_rng(1)
    files = []
    for name in ("a", "b", "c"):
        _png(tmp_path / "train" / name / "0.png", rng.integers(0, 256, (9, 9, 3)))
        for i in range(2):
            shape = (14 + 3 * i, 18 - 2 * i, 3)
            files.append((tmp_path / "val" / name / f"{i}.png", "abc".index(name)))
            _png(files[-1][0], rng.integers(0, 256, shape))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10, 10, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    prep = Preprocessing(mean=(120.0, 110.0, 100.0), std=(60.0, 50.0, 40.0), crop_pct=0.75)
    batches, names, count, _ = load_split(f"folder:{tmp_path}", image_size=10, preprocessing=prep, batch_size=4,
                                          crop="ten")
    result = evaluate(model, batches, names, return_probabilities=True)

    expected = []
    for path, _ in files:
        crops = _direct_ten_crop(np.asarray(Image.open(path)), 10, 0.75)
        expected.append(model.predict(prep.normalize(crops), verbose=0).mean(axis=0))
    expected = np.array(expected)
    labels = np.array([label for _, label in files])
    assert result["crops"] == 10 and result["labels"].tolist() == labels.tolist()
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    assert result["top1"] == np.mean(expected.argmax(axis=1) == labels)
    assert result["loss"] == pytest.approx(-np.log(expected[np.arange(6), labels]).mean(), rel=1e-5)


def test_the_validation_split_is_load_datasets_and_train_is_not_augmented(tmp_path):
    rng = np.random.default_rng(2)
    for name in ("cat", "dog"):
        for i in range(6):
            _png(tmp_path / name / f"{i}.png", rng.integers(0, 256, (11 + i, 9, 3)))
    for spec in (f"folder:{tmp_path}", "synthetic:classes=3,examples=30"):
        data = load_dataset(spec, image_size=8, batch_size=4, seed=3, preset="inception")
        batches, names, count, _ = load_split(spec, image_size=8, batch_size=4, seed=3)
        ours, theirs = list(batches), list(data.validation)
        assert names == data.class_names and count == data.validation_count and len(ours) == len(theirs)
        assert int(batches.cardinality()) == len(ours) == -(-count // 4)  # it knows its length
        for (x, y), (x2, y2) in zip(ours, theirs):
            np.testing.assert_array_equal(x, x2)
            np.testing.assert_array_equal(y, y2)
        train, _, count, _ = load_split(spec, split="train", image_size=8, batch_size=4, seed=3)
        assert count == data.train_count and sum(len(y) for _, y in train) == count
        again = [x.numpy() for x, _ in load_split(spec, split="train", image_size=8, batch_size=4, seed=3)[0]]
        np.testing.assert_array_equal(np.concatenate([x for x, _ in train]), np.concatenate(again))
    with pytest.raises(ValueError, match=r"test split is its test/ sub-folder.*Received: split='test'"):
        load_split(f"folder:{tmp_path}", split="test", image_size=8)


def test_a_folder_with_train_val_and_test_has_a_test_split(tmp_path):
    rng = np.random.default_rng(3)
    for part in ("train", "val", "test"):
        for name in ("cat", "dog"):
            _png(tmp_path / part / name / "0.png", rng.integers(0, 256, (8, 12, 3)))
    batches, names, count, _ = load_split(f"folder:{tmp_path}", split="test", image_size=8, preprocessing=UNIT,
                                          crop="full")
    (images, labels), = list(batches)
    assert names == ("cat", "dog") and count == 2 and images.shape == (2, 8, 8, 3) and labels.numpy().tolist() == [0, 1]
    expected = augment.full_transform(tf.constant(np.asarray(Image.open(tmp_path / "test" / "dog" / "0.png"))), size=8)
    np.testing.assert_allclose(images[1], UNIT.normalize(expected.numpy()), atol=1e-6)
    shutil.rmtree(tmp_path / "test" / "dog")
    with pytest.raises(ValueError, match="differ from the training classes"):
        load_split(f"folder:{tmp_path}", split="test", image_size=8)
    with pytest.raises(ValueError, match=r"synthetic data has only 'train' and 'validation' splits"):
        load_split("synthetic", split="test", image_size=8)


def test_evaluate_run_reproduces_the_best_epochs_validation_accuracy(tmp_path, capsys):
    from keras_cnns.training import resolve, train

    run = tmp_path / "run"
    config = resolve({"arch": "lenet5", "image_size": 16, "epochs": 3, "output": str(run), "export": False,
                      "data_dir": str(tmp_path / "tfds"), "verbose": "0"})
    train(config, log=lambda *_: None)
    with open(run / "history.csv") as f:
        best = max(float(row["val_accuracy"]) for row in csv.DictReader(f))
    capsys.readouterr()

    assert main(["evaluate", str(run)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("lenet5 on digits (validation split, 360 images, center crop 16x16): top-1 ")
    folder = run / "eval-validation-center"
    assert sorted(os.listdir(folder)) == ["confusion.png", "eval.json", "per_class.csv"]
    scores = json.loads((folder / "eval.json").read_text())
    assert abs(scores["top1"] - best) < 1e-6 and scores["count"] == 360
    assert scores["options"]["batch_size"] == config.batch_size and scores["options"]["image_size"] == 16
    with open(folder / "per_class.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["class"] for row in rows] == [str(d) for d in range(10)]
    assert sum(int(row["count"]) for row in rows) == 360
    assert sum(float(row["recall"]) * int(row["count"]) for row in rows) == pytest.approx(scores["top1"] * 360)

    os.remove(run / "run.json")  # an older run: config.json and the model's own preprocessing
    assert main(["evaluate", str(run), "--output", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again" / "eval.json").read_text())["top1"] == scores["top1"]


def test_the_confusion_plot_keeps_the_30_most_confused_of_more_classes(tmp_path):
    confusion = np.diag(np.full(40, 10))
    for true, predicted in [(3, 7), (39, 0), (12, 12)]:
        confusion[true, predicted] += 5
    assert most_confused(confusion[:30, :30]) == list(range(30))
    chosen = most_confused(confusion)
    assert len(chosen) == 30 and {0, 3, 7, 39} <= set(chosen) and chosen == sorted(chosen)
    shown = plot_confusion(confusion, [f"class {i}" for i in range(40)], tmp_path / "confusion.png", title="t")
    assert shown == chosen and (tmp_path / "confusion.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{tmp}"], "No best.keras in that run folder: train.py writes it once an epoch has ended. Received: run="),
        (["{tmp}/missing"], "No run folder or .keras file at that path. Received: run="),
        (["{tmp}", "--split", "val"], "Expected --split to be one of ['validation', 'train', 'test']. Received: split='val'"),
        (["{tmp}", "--crop", "five"], "Expected --crop to be one of ['center', 'ten', 'full']. Received: crop='five'"),
        (["--arch", "lenet5", "--weights", "imagenet", "--dataset", "digits"], "lenet5 has no 'imagenet' weights"),
        ([], "evaluate needs a run folder (evaluate RUN) or --arch, --weights and --dataset. Received: arch=None"),
        (["--arch", "lenet5", "--weights", "w.weights.h5"], "Received: arch='lenet5', weights='w.weights.h5', dataset=None"),
        (["{tmp}", "--arch", "lenet5"], "Pass a run folder, or --arch and --weights, not both. Received: run="),
        (["--arch", "lenet5", "--weights", "{tmp}/w.weights.h5", "--dataset", "digits"], "No weights file at that path"),
        (["{tmp}", "--batch-size", "0"], "Expected --batch-size to be a positive int. Received: batch_size=0"),
    ],
)
def test_bad_input_is_one_error_line(argv, message, tmp_path, capsys):
    assert main(["evaluate", *(arg.format(tmp=tmp_path) for arg in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
