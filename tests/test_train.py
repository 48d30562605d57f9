"""train.py: one epoch per family, replicas, resume, multi-worker, bad input."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns.training import NanLossError, resolve, train
from tests.processes import free_addresses, run_together, tf_config

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("train_script", ROOT / "train.py")
train_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_script)

TINY = ["--dataset", "synthetic:classes=3,examples=10", "--batch-size", "3", "--verbose", "0"]
OUTPUTS = ("config.json", "run.json", "last.keras", "best.keras", "history.csv", "logs", "curves.png", "metrics.json", "saved_model")


def _weights(folder):
    model = keras.saving.load_model(os.path.join(folder, "last.keras"), compile=False)
    return model.get_weights()


def _assert_same_weights(a, b, atol):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


def _run(args, timeout=300, env=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}, cwd=ROOT,
    )


# One model of each family, at its smallest input.
FAMILIES = {
    "lenet5": 16, "alexnet": 67, "nin": 39, "vgg11_bn": 32, "googlenet": 31, "inception_v3": 75,
    "inception_v4": 75, "inception_resnet_v1": 75, "resnet18": 32, "densenet121": 32, "mobilenet_v2": 32,
    "resnet20": 8,
}


#: Tracing the training step, not the arithmetic, is what a one-epoch run of these costs
#: (a minute for Inception-v4): they train with one module per grid or dense block, their
#: family's builder with a shorter table (``model_args`` of a config file, as a search's
#: best.json gives it).
SHORTER = {"inception_v4": {"blocks": [1, 1, 1]}, "inception_resnet_v1": {"blocks": [1, 1, 1]},
           "densenet121": {"block_sizes": [1, 1, 1, 1]}, "resnet20": {"blocks": 1}}


def test_one_model_of_each_family_trains():
    families = {keras_cnns.model_info(name).family for name in keras_cnns.list_models()}
    assert {keras_cnns.model_info(arch).family for arch in FAMILIES} == families, "add the new family to FAMILIES"


def test_a_model_trained_from_scratch_gets_standardized_inputs(tmp_path):
    """The main job's data: GoogLeNet, trained from scratch, sees RGB normalized with the
    ImageNet mean and std (not the 0-255 Caffe inputs of BVLC's weights), so its
    untrained loss is near ln 10, not near 100."""
    from keras_cnns.training.run import load_data

    config = resolve({"arch": "googlenet", "data_dir": str(tmp_path)})  # python train.py --arch googlenet
    info = keras_cnns.model_info("googlenet")
    data, classes, _ = load_data(config, info)
    images = np.concatenate([x.numpy() for x, _ in data.validation])
    assert abs(images.mean()) < 1 and 0.3 < images.std() < 3  # digits are mostly black: about -1.3 ... 2
    model = info.builder(num_classes=classes, input_shape=(config.image_size, config.image_size, 3))
    x, y = next(iter(data.validation))
    loss = float(keras.losses.sparse_categorical_crossentropy(y, model(x, training=False)).numpy().mean())
    assert loss < 10, loss


def test_every_paper_recipe_sets_only_what_its_builder_takes():
    for name in keras_cnns.list_models():
        config = resolve({"arch": name, "recipe": "paper", "dataset": "synthetic"})  # checks model_args and dropout
        assert config.dropout is None or "dropout" in keras_cnns.model_info(name).arguments


#: Variants that fix some of their generic builder's settings (a layout's dropout, its
#: batch norm): the paper recipe's dropout replaces theirs.
FIXED_SETTINGS = ["zfnet", "vgg11_bn", "googlenet_bn", "bn_inception"]


@pytest.mark.parametrize("arch", FIXED_SETTINGS)
def test_the_paper_recipe_builds_its_model(arch, cheap_init):
    from keras_cnns.training.run import _model

    info = keras_cnns.model_info(arch)
    config = resolve({"arch": arch, "recipe": "paper", "dataset": "synthetic", "image_size": info.min_size})
    model, _ = _model(config, info, 3, 3)
    dropouts = [layer.rate for layer in model.get_layer("head")._flatten_layers() if isinstance(layer, keras.layers.Dropout)]
    assert dropouts and set(dropouts) == {config.dropout} or (config.dropout == 0 and not dropouts)


@pytest.mark.parametrize("arch", sorted(FAMILIES))
def test_one_epoch_of_each_family(arch, tmp_path, capsys):
    out = tmp_path / "run"
    export = arch == "lenet5"  # the export is slow to trace: once here, once with auxiliary heads below
    args = ["--arch", arch, "--image-size", str(FAMILIES[arch]), "--epochs", "1", "--output", str(out), *TINY,
            *([] if export else ["--no-export"])]
    if arch in SHORTER:
        (tmp_path / "shorter.json").write_text(json.dumps({"model_args": SHORTER[arch]}))
        args += ["--config", str(tmp_path / "shorter.json")]
    assert train_script.main(args) == 0
    assert f"{arch} on synthetic:classes=3,examples=10: top-1 " in capsys.readouterr().out
    expected = [*OUTPUTS, "backup"] if export else [name for name in [*OUTPUTS, "backup"] if name != "saved_model"]
    assert sorted(os.listdir(out)) == sorted(expected)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"top1", "top5", "loss"} and 0 <= metrics["top1"] <= 1 and metrics["top5"] == 1.0
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,lr,") and "val_accuracy" in history[0] and len(history) == 2
    last = dict(zip(history[0].split(","), history[1].split(",")))
    assert metrics["top1"] == float(last["val_accuracy"]) and metrics["loss"] == float(last["val_loss"])
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"] == "quick" and config["optimizer"] == "adamw" and config["image_size"] == FAMILIES[arch]
    assert config["model_args"] == SHORTER.get(arch)
    if arch in SHORTER:  # the model trained is the shorter one
        model = keras.saving.load_model(out / "last.keras", compile=False)
        full = keras_cnns.create_model(arch, input_shape=(FAMILIES[arch],) * 2 + (3,), num_classes=3)
        assert model.count_params() < full.count_params()


def test_the_inference_export_drops_the_auxiliary_heads(tmp_path):
    import tensorflow as tf

    out = tmp_path / "run"
    config = resolve(dict(arch="googlenet", dataset="synthetic:classes=3,examples=10", image_size=150,
                          batch_size=3, epochs=1, output=str(out), verbose="0"))
    assert config.aux_loss_weight == 0.3  # GoogLeNet's, kept by the quick recipe
    train(config)
    trained = keras.saving.load_model(out / "last.keras", compile=False)
    assert trained.output_names == ["predictions", "aux1", "aux2"]
    assert keras.saving.load_model(out / "best.keras", compile=False).output_names == ["predictions", "aux1", "aux2"]
    exported = tf.saved_model.load(str(out / "saved_model"))
    images = np.zeros((2, 150, 150, 3), "float32")
    np.testing.assert_allclose(exported.serve(images).numpy(), trained.predict(images, verbose=0)[0], atol=1e-5)
    assert "val_predictions_accuracy" in (out / "history.csv").read_text().splitlines()[0]


class _Interrupt(keras.callbacks.Callback):
    """Kills the run (raises) after a given epoch or step, after the backup saved it."""

    def __init__(self, epoch=None, step=None):
        super().__init__()
        self.epoch, self.step, self.seen = epoch, step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.step is not None and self.seen == self.step:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path):
    # SGD with momentum (optimizer state), a step schedule, weight decay and dropout (NIN's,
    # whose random generator's state is part of the backup).
    options = dict(arch="nin", dataset="synthetic:classes=3,examples=13", image_size=39, batch_size=4,
                   epochs=3, optimizer="sgd", lr=0.01, momentum=0.9, schedule="step", verbose="0", export=False,
                   schedule_args={"every": 1, "gamma": 0.5}, weight_decay=5e-4, save_every=2)
    # 12 training examples: 3 steps an epoch. Killed after epoch 1, then in epoch 2 after its
    # step 2 was backed up (every 2 steps).
    assert_resumes_to_the_same_weights(options, tmp_path)


def assert_resumes_to_the_same_weights(options, tmp_path):
    """Trains ``options`` (3 epochs of 3 steps, backed up every 2 steps) whole, then killed
    after its first epoch and in its second after step 2, each resumed: the same weights
    and history."""
    train(resolve({**options, "output": str(tmp_path / "whole")}))
    whole = _weights(tmp_path / "whole")
    for name, where, reached in (("epoch", dict(epoch=0), (1, 0)), ("step", dict(step=5), (1, 2))):
        with pytest.raises(KeyboardInterrupt):
            train(resolve({**options, "output": str(tmp_path / name)}), extra_callbacks=[_Interrupt(**where)])
        saved = json.loads((tmp_path / name / "backup" / "training_metadata.json").read_text())
        assert (saved["epoch"], saved["batch"]) == reached
        train(resolve({**options, "output": str(tmp_path / name), "resume": True}))
        _assert_same_weights(whole, _weights(tmp_path / name), atol=1e-6)
        rows = (tmp_path / name / "history.csv").read_text().splitlines()
        assert [row.split(",")[0] for row in rows] == ["epoch", "1", "2", "3"]


def test_two_cpu_replicas_train_as_one(tmp_path):
    """Same global batch on 1 and 2 logical CPUs: the same weights, batch norm included."""
    # 36 training examples: 2 steps of 8 examples a replica; 4 validation examples, 2 a
    # replica (TF's CPU convolution fails on an empty batch). SGD: Adam's first steps turn
    # float round-off in near-zero gradients into updates of +-lr, so no two summation
    # orders agree to 1e-5 under Adam.
    common = ["--arch", "resnet18", "--dataset", "synthetic:classes=3,examples=40", "--image-size", "32",
              "--batch-size", "16", "--epochs", "1", "--strategy", "mirrored", "--verbose", "0", "--no-export",
              "--optimizer", "sgd", "--lr", "0.01", "--weight-decay", "1e-3", "--clipnorm", "0",
              "--schedule", "step", "--warmup-epochs", "0", "--config", str(tmp_path / "short.json")]
    # ResNet-18 with one block per stage: its batch norms and shortcuts, a quarter of the tracing.
    (tmp_path / "short.json").write_text(json.dumps({"model_args": {"layers": [1, 1, 1, 1]}}))
    for replicas in (1, 2):
        done = _run([*common, "--cpu-replicas", str(replicas), "--output", str(tmp_path / str(replicas))])
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"over {replicas} replica" in done.stdout
        over = " (MirroredStrategy, 2 replicas)" if replicas == 2 else ""
        assert f"devices: CPU only{over}; no GPU because " in done.stdout
    _assert_same_weights(_weights(tmp_path / "1"), _weights(tmp_path / "2"), atol=1e-5)


def test_multiworker_training_with_two_local_processes(tmp_path):
    workers = free_addresses(2)
    args = [sys.executable, str(ROOT / "train.py"), "--arch", "lenet5", "--dataset", "synthetic:classes=3,examples=20",
            "--batch-size", "4", "--epochs", "2", "--strategy", "multiworker", "--verbose", "0", "--no-export",
            "--output", str(tmp_path / "run")]
    done = run_together([(args, {"TF_CONFIG": tf_config(workers, index)}) for index in range(2)], cwd=ROOT)
    for returncode, stdout, stderr in done:
        assert returncode == 0, stderr[-3000:]
        assert "over 2 replicas" in stdout
    run = tmp_path / "run"
    assert (run / "metrics.json").exists() and (run / "last.keras").exists() and (run / "backup").is_dir() and (run / "backup-worker1").is_dir()
    assert json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"] == 2


def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    class Explode(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate.assign(1e30)

    out = tmp_path / "run"
    config = resolve(dict(arch="lenet5", dataset="synthetic:classes=3,examples=10", batch_size=3, epochs=3,
                          optimizer="sgd", schedule="plateau", warmup_epochs=0, clipnorm=0, output=str(out),
                          verbose="0"))
    with pytest.raises(NanLossError, match=r"the loss became (nan|inf) at step [4-6]\b.*--resume"):
        train(config, extra_callbacks=[Explode()])
    assert json.loads((out / "backup" / "training_metadata.json").read_text())["epoch"] == 1
    assert all(np.isfinite(w).all() for w in _weights(out))


def _error(args, capsys):
    assert train_script.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("train.py: error: ")
    return err


def test_bad_input_stops_before_training_with_one_line(tmp_path, capsys):
    assert "Did you mean: googlenet" in _error(["--arch", "googlenett"], capsys)
    assert "at least 32x32 for resnet18. Received: image_size=20" in _error(["--arch", "resnet18", "--image-size", "20"], capsys)
    missing = tmp_path / "nowhere"
    assert f"expects a folder of class sub-folders. Received: folder:{missing}" in _error(["--arch", "lenet5", "--dataset", f"folder:{missing}", "--output", str(tmp_path / "a")], capsys)
    err = _error(["--arch", "lenet5", "--dataset", "tfds:mnist", "--data-dir", str(tmp_path), "--output", str(tmp_path / "b")], capsys)
    assert "tfds:mnist is not prepared" in err
    assert "Cannot read the config file" in _error(["--arch", "lenet5", "--config", str(tmp_path / "none.yaml")], capsys)
    (tmp_path / "bad.yaml").write_text("lr: [0.1\n")
    assert "not valid YAML" in _error(["--arch", "lenet5", "--config", str(tmp_path / "bad.yaml")], capsys)
    (tmp_path / "typo.json").write_text('{"learning_rate": 0.1}')
    assert "Unknown options ['learning_rate']" in _error(["--arch", "lenet5", "--config", str(tmp_path / "typo.json")], capsys)
    assert "Expected `lr` to be a positive number. Received: lr=-1.0" in _error(["--arch", "lenet5", "--lr", "-1"], capsys)
    (tmp_path / "args.json").write_text('{"model_args": {"towers": 2}}')
    assert "lenet5 has no towers to set. Received: towers=2" in _error(
        ["--arch", "lenet5", "--config", str(tmp_path / "args.json"), "--output", str(tmp_path / "c")], capsys)
    (tmp_path / "reserved.json").write_text('{"model_args": {"num_classes": 2}}')
    assert "model_args may not set ['num_classes']" in _error(
        ["--arch", "lenet5", "--config", str(tmp_path / "reserved.json"), "--output", str(tmp_path / "d")], capsys)


def test_a_global_batch_must_divide_by_the_replicas(tmp_path):
    done = _run(["--arch", "lenet5", "--cpu-replicas", "2", "--batch-size", "5", "--output", str(tmp_path / "run")], timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "train.py: error: The global batch must divide by the 2 replicas. Received: batch_size=5"
    )


def test_options_override_the_recipe_and_a_config_file(tmp_path):
    (tmp_path / "best.yaml").write_text("lr: 0.05\nbatch-size: 16\noptimizer: sgd\n")
    config = resolve(dict(arch="alexnet", dataset="tfds:imagenet2012", config=str(tmp_path / "best.yaml"), batch_size=32))
    assert (config.recipe, config.optimizer, config.lr, config.batch_size) == ("paper", "sgd", 0.05, 32)
    assert (config.weight_decay, config.schedule, config.dropout, config.augment) == (5e-4, "plateau", 0.5, "alexnet")
    assert resolve(dict(arch="googlenet")).image_size == 64  # digits are trained at 64x64


def test_python_m_keras_cnns_train_is_train_py(capsys):
    from keras_cnns.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: python -m keras_cnns train")
    for group in ("model:", "data:", "optimization (each overrides the recipe):", "run:", "distribution and speed:"):
        assert group in help_text
    assert main(["train", "--arch", "resnet18", "--image-size", "20"]) == 2
    assert capsys.readouterr().err.startswith("python -m keras_cnns train: error: Input size must be at least 32x32")


def test_mixed_precision_trains_and_restores_the_policy(tmp_path):
    config = resolve(dict(arch="lenet5", dataset="synthetic:classes=3,examples=10", batch_size=3, epochs=1,
                          mixed_precision=True, export=False, output=str(tmp_path / "run"), verbose="0"))
    metrics = train(config)
    assert 0 <= metrics["top1"] <= 1 and np.isfinite(metrics["loss"])
    trained = keras.saving.load_model(tmp_path / "run" / "last.keras", compile=False)
    assert {layer.dtype_policy.name for layer in trained.layers[1:-1]} == {"mixed_bfloat16"}  # no GPU: bfloat16
    assert trained.layers[-1].dtype_policy.name == "float32" and trained.output.dtype == "float32"  # predictions
    assert keras.config.dtype_policy().name == "float32"


def test_a_resumed_run_keeps_its_configuration(tmp_path):
    from keras_cnns.training.config import TrainConfig
    from keras_cnns.training.run import _resumed_config

    saved = resolve(dict(arch="lenet5", epochs=30, lr=0.05, optimizer="sgd", export=False))
    (tmp_path / "config.json").write_text(saved.to_json())
    resumed = _resumed_config(resolve(dict(arch="lenet5", resume=True, output=str(tmp_path))), str(tmp_path))
    assert (resumed.epochs, resumed.lr, resumed.optimizer, resumed.export, resumed.resume) == (30, 0.05, "sgd", False, True)
    assert _resumed_config(resolve(dict(arch="lenet5", resume=True, epochs=40, output=str(tmp_path))), str(tmp_path)).epochs == 40
    with pytest.raises(ValueError, match=r"keeps its configuration.*lr=0.1 \(run: 0.05\)"):
        _resumed_config(resolve(dict(arch="lenet5", resume=True, lr=0.1, output=str(tmp_path))), str(tmp_path))
    assert isinstance(resumed, TrainConfig)


def test_the_devices_line_names_the_gpus_or_why_there_are_none(monkeypatch):
    import tensorflow as tf

    from keras_cnns.training import strategy

    class Mirrored:
        num_replicas_in_sync = 3

    gpus = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(3)]
    names = {gpus[0].name: "NVIDIA H200", gpus[1].name: "NVIDIA H200", gpus[2].name: "Tesla T4"}
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda gpu: {"device_name": names[gpu.name]})
    assert strategy.describe_devices(Mirrored()) == "devices: 2 x NVIDIA H200, 1 x Tesla T4 (Mirrored, 3 replicas)"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    single = tf.distribute.get_strategy()
    monkeypatch.setattr(tf.test, "is_built_with_cuda", lambda: False)
    assert strategy.describe_devices(single) == "devices: CPU only; no GPU because this TensorFlow build has no CUDA support"
    monkeypatch.setattr(tf.test, "is_built_with_cuda", lambda: True)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert strategy.describe_devices(single).endswith("no GPU because CUDA_VISIBLE_DEVICES='-1' hides every GPU")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr("ctypes.CDLL", lambda name: None)  # a driver that loads
    assert 'pip install -e ".[gpu]"' in strategy.describe_devices(single)
