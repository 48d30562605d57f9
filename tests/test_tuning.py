"""tuning/: search spaces, the HyperModel, resumable searches, chief and worker, results."""

import csv
import json
import os
import pathlib
import re
import sys

import keras
import keras_tuner
import pytest

from keras_cnns.models import create_model, list_models, model_info
from keras_cnns.training import resolve, train
from keras_cnns.tuning import SPACES, CNNHyperModel, default_space, get_space, run_search
from keras_cnns.tuning.spaces import spaces_of
from keras_cnns.tuning import results as results_module
from tests import reference
from tests.processes import free_addresses, run_together, tf_config

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = dict(arch="lenet5", dataset="synthetic:classes=3,examples=24", batch_size=4, epochs=1, verbose="0")
#: What a row of results.csv holds besides the hyperparameters.
COLUMNS = ("trial", "status", "val_accuracy", "epochs", "seconds", "message")


def _assert_same_history(a, b):
    """The same epochs with the same metrics (to float32 round-off)."""
    rows_a, rows_b = [list(csv.DictReader(open(path, newline=""))) for path in (a, b)]
    assert [list(r) for r in rows_a] == [list(r) for r in rows_b] and len(rows_a) == len(rows_b) > 0
    for x, y in zip(rows_a, rows_b):
        assert {k: float(v) for k, v in x.items()} == pytest.approx({k: float(v) for k, v in y.items()}, rel=1e-5, abs=1e-7)


def _rows(folder):
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def _search(folder, log=None, **options):
    config = resolve({**TINY, **options.pop("config", {})})
    return run_search(config, output=str(folder), log=log or (lambda *a: None), **options)


def test_a_random_search_writes_every_result_and_train_py_takes_its_best(tmp_path):
    out = tmp_path / "search"
    table = _search(out, max_trials=2, fixed={"randaugment_magnitude": 5})
    assert [row["status"] for row in table] == ["completed", "completed"]
    names = {"results.csv", "best.json", "search.png", "best.keras", "search.json", "oracle.json", "trial_0", "trial_1"}
    assert names <= set(os.listdir(out))
    rows = _rows(out)
    knobs = [knob.name for knob in SPACES["lenet"].all_knobs]
    assert list(rows[0]) == [*COLUMNS[:2], *knobs, *COLUMNS[2:]]
    for row in rows:
        assert row["status"] == "completed" and row["epochs"] == "1" and float(row["seconds"]) > 0
        assert 0 <= float(row["val_accuracy"]) <= 1 and row["batch_size"] == "4"  # given: fixed
    best = json.loads((out / "best.json").read_text())
    assert best["arch"] == "lenet5" and best["epochs"] == 1 and best["batch_size"] == 4
    assert best["model_args"]["activation"] in ("tanh", "relu") and "output" not in best
    # best.keras is the best trial's model at its best epoch
    winner = max(rows, key=lambda row: float(row["val_accuracy"]))
    model = keras.saving.load_model(out / "best.keras")
    assert model.get_layer("c1").filters == 6 * int(winner["width"])
    assert (out / "search.png").read_bytes()[:4] == b"\x89PNG"
    # train.py --config best.json trains the best trial again, to the same numbers
    config = resolve({"config": str(out / "best.json"), "output": str(tmp_path / "again"), "verbose": "0",
                      "export": False})
    assert config.randaugment == [2, 5] and config.model_args == best["model_args"]
    train(config)
    _assert_same_history(tmp_path / "again" / "history.csv", out / f"trial_{winner['trial']}" / "history.csv")


def test_a_search_started_again_runs_only_the_new_trials(tmp_path):
    out = tmp_path / "search"
    _search(out, max_trials=1)
    before = (out / "trial_0" / "history.csv").read_text()
    stamp = (out / "trial_0" / "history.csv").stat().st_mtime_ns
    table = _search(out, max_trials=2)
    assert [row["trial"] for row in table] == ["0", "1"] and table[1]["status"] == "completed"
    assert (out / "trial_0" / "history.csv").read_text() == before  # not trained again
    assert (out / "trial_0" / "history.csv").stat().st_mtime_ns == stamp
    assert len(_rows(out)) == 2
    with pytest.raises(ValueError, match=r"holds another search.*space='training' \(search: 'lenet'\)"):
        _search(out, max_trials=3, space="training")


class _Interrupt(keras.callbacks.Callback):
    """Kills the search after the first epoch of the first trial (after its backup)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt


def test_an_interrupted_trial_resumes_from_its_backup(tmp_path):
    options = dict(max_trials=1, config=dict(epochs=2), fixed={"optimizer": "sgd", "randaugment_magnitude": 0})
    _search(tmp_path / "whole", **options)
    with pytest.raises(KeyboardInterrupt):
        _search(tmp_path / "cut", extra_callbacks=[_Interrupt()], **options)
    assert (tmp_path / "cut" / "trial_0" / "backup" / "latest.weights.h5").exists()
    messages = []
    table = _search(tmp_path / "cut", log=messages.append, **options)
    assert any("resuming the trial" in m and "at epoch 2" in m for m in messages)
    assert table[0]["status"] == "completed"
    _assert_same_history(tmp_path / "cut" / "trial_0" / "history.csv", tmp_path / "whole" / "trial_0" / "history.csv")
    assert not (tmp_path / "cut" / "trial_0" / "backup").exists()


def test_hyperband_hands_weights_on_between_rounds(tmp_path):
    out = tmp_path / "search"
    # epochs 3, factor 3: three 1-epoch trials, then the best of them continued to 3
    # epochs (Hyperband's next bracket, two 3-epoch trials, is cut by max_trials).
    table = _search(out, tuner="hyperband", max_trials=4, config=dict(epochs=3))
    assert table and all(row["status"] == "completed" for row in table)
    values = {row["trial"]: json.loads((out / f"trial_{row['trial']}" / "trial.json").read_text())["hyperparameters"]["values"]
              for row in table}
    continued = [(trial, v) for trial, v in values.items() if "tuner/trial_id" in v]
    assert continued, "Hyperband's second round continues an earlier trial"
    for trial, v in continued:  # it trains only the epochs after those of the trial it continues
        rows = (out / f"trial_{trial}" / "history.csv").read_text().splitlines()[1:]
        assert [int(row.split(",")[0]) for row in rows] == list(range(v["tuner/initial_epoch"] + 1, v["tuner/epochs"] + 1))
        assert values[v["tuner/trial_id"]]["tuner/epochs"] == v["tuner/initial_epoch"]


@pytest.mark.filterwarnings("ignore:The optimal value found")  # scikit-learn's Gaussian process on 2 points
def test_bayesian_optimization_runs_after_its_random_start(tmp_path):
    table = _search(tmp_path / "s", tuner="bayesian", max_trials=3)
    assert [row["status"] for row in table] == ["completed"] * 3
    oracle = json.loads((tmp_path / "s" / "oracle.json").read_text())
    assert len(oracle["tried_so_far"]) == 3


def test_an_invalid_combination_is_recorded_and_skipped(tmp_path):
    # At 67x67, conv1 11x11/4, conv2 stride 2 and 3x3/2 pooling leave pool5 0x0: AlexNet
    # then needs 115x115. Three of them in a row do not stop the search.
    fixed = dict(conv1_kernel=11, conv1_stride=4, conv2_stride=2, pool_overlap=True)
    table = _search(tmp_path / "s", max_trials=3, space="zfnet", fixed=fixed,
                    config=dict(arch="alexnet", image_size=67))
    assert [row["status"] for row in table] == ["invalid"] * 3
    assert all(row["message"].startswith("Input size must be at least 115x115 for alexnet") for row in table)
    assert _rows(tmp_path / "s")[0]["status"] == "invalid"
    assert not (tmp_path / "s" / "best.json").exists()


def test_a_diverged_trial_is_recorded_with_where_it_diverged(tmp_path):
    table = _search(tmp_path / "s", max_trials=1, fixed={"optimizer": "sgd"},
                    config=dict(lr=1e30, clipnorm=0, warmup_epochs=0))
    assert table[0]["status"] == "diverged"
    assert re.fullmatch(r"the loss became (nan|inf) at step \d+", table[0]["message"]), table[0]["message"]
    # keras-tuner kept the skip's record, not a traceback, as the trial's message
    trial = json.loads((tmp_path / "s" / "trial_0" / "trial.json").read_text())
    assert json.loads(trial["message"]) == {"skipped": "diverged", "reason": table[0]["message"]}


def test_a_chief_and_a_worker_finish_a_search_and_stop(tmp_path):
    [address] = free_addresses(1)
    args = [sys.executable, str(ROOT / "tuning" / "search.py"), "--arch", "lenet5", "--dataset",
            "synthetic:classes=3,examples=24", "--batch-size", "4", "--epochs", "1", "--max-trials", "2",
            "--verbose", "0", "--output", str(tmp_path / "search")]
    # The worker trains each trial under MirroredStrategy on 2 logical CPUs.
    chief, worker = run_together([([*args, "--chief", address], {}),
                                  ([*args, "--worker", address, "--tuner-id", "worker-a", "--cpu-replicas", "2"], {})])
    for returncode, stdout, stderr in (chief, worker):
        assert returncode == 0, stderr[-3000:]
    assert "worker done" in worker[1] and "2 replicas" in worker[1]
    rows = _rows(tmp_path / "search")
    assert [row["status"] for row in rows] == ["completed", "completed"]
    assert (tmp_path / "search" / "best.keras").exists() and (tmp_path / "search" / "worker-a.json").exists()


def test_a_search_under_a_multi_worker_strategy(tmp_path):
    """Two processes of TF_CONFIG run the same trials together (same seed, same oracle)."""
    workers = free_addresses(2)
    args = [sys.executable, str(ROOT / "tuning" / "search.py"), "--arch", "lenet5", "--dataset",
            "synthetic:classes=3,examples=24", "--batch-size", "4", "--epochs", "1", "--max-trials", "1",
            "--strategy", "multiworker", "--verbose", "0", "--output", str(tmp_path / "search")]
    for returncode, stdout, stderr in run_together([(args, {"TF_CONFIG": tf_config(workers, i)}) for i in range(2)]):
        assert returncode == 0, stderr[-3000:]
        assert "2 replicas" in stdout
    search = tmp_path / "search"
    assert _rows(search)[0]["status"] == "completed" and (search / "best.keras").exists()
    # the second worker trained the same trial in its own project, with the same results
    theirs = (search / "worker1" / "trial_0" / "history.csv").read_text().splitlines()
    assert [line.split(",")[:6] for line in theirs] == [line.split(",")[:6] for line in
                                                       (search / "trial_0" / "history.csv").read_text().splitlines()]


@pytest.mark.parametrize("arch", list_models())
def test_every_architecture_has_a_space_whose_defaults_configure_it(arch):
    space = default_space(arch)
    assert space.name != "training" and space.name in spaces_of(model_info(arch))
    hypermodel = CNNHyperModel(resolve({"arch": arch, "epochs": 2}))
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    config = hypermodel.trial_config(hp)
    assert model_info(config.arch).family == model_info(arch).family
    assert {knob.name for knob in space.all_knobs} == set(hp.values)


# The spaces at the papers' values build the papers' networks: trainable parameters from
# the papers, torchvision and keras.applications (tests/reference/).
PAPER_VALUES = [
    ("alexnet", "zfnet", dict(conv1_kernel=11, conv1_stride=4, conv2_stride=1, conv_width=1.0, towers=2, lrn=True,
                              pool_overlap=True, fc_units=4096), 227, 60_965_224),
    ("zfnet", "zfnet", dict(conv1_kernel=7, conv1_stride=2, conv2_stride=2, conv_width=1.0, towers=1, lrn=True,
                            pool_overlap=True, fc_units=4096), 224, 62_357_608),
    ("resnet50", "resnet", dict(depth=18, width=64), 224, 11_689_512),
    ("resnext101_32x8d", "resnext", dict(depth=50, cardinality=32, group_width=4), 224, 25_028_904),
    ("densenet169", "densenet", dict(growth_rate=32, compression=0.5), 224, 14_149_480),
    ("mobilenet", "mobilenet", dict(alpha=0.5), 224, 1_331_592),
    ("googlenet", "inception", dict(width_multiplier=1.0), 224, 6_998_552),
    ("vgg11", "vgg", dict(depth=11, batch_norm=True, fc_units=4096), 224, 132_868_840),
    ("lenet5", "lenet", dict(activation="tanh", width=1), 32, 61_706),
    ("resnet110", "resnet_cifar", dict(depth=20, width=16), 32, 269_722),
    ("plain20", "plain_cifar", dict(depth=56, width=16), 32, 853_018),
    ("densenet_bc_100", "densenet_cifar", dict(growth_rate=12, compression=0.5), 32, 769_162),
]


@pytest.mark.parametrize("arch, space, values, size, params", PAPER_VALUES, ids=[row[0] for row in PAPER_VALUES])
def test_a_space_at_the_papers_values_builds_the_papers_network(arch, space, values, size, params):
    built, model_args = get_space(space, arch).model(model_info(arch), values)
    model = create_model(built, input_shape=(size, size, model_info(built).channels),
                         num_classes=reference.NUM_CLASSES.get(built, 1000), **model_args)
    assert sum(int(keras.ops.size(w)) for w in model.trainable_weights) == params


def test_the_zfnet_space_changes_what_it_says():
    built, args = get_space("zfnet", "alexnet").model(model_info("alexnet"), dict(
        conv1_kernel=7, conv1_stride=2, conv2_stride=2, conv_width=0.5, towers=1, lrn=False, pool_overlap=False,
        fc_units=1024))
    model = create_model(built, input_shape=(224, 224, 3), **args)
    conv1, conv2 = model.get_layer("conv1"), model.get_layer("conv2")
    assert (conv1.filters, conv1.kernel_size, conv1.strides) == (48, (7, 7), (2, 2))
    assert (conv2.filters, conv2.strides, conv2.groups) == (128, (2, 2), 1)
    assert not [layer for layer in model.layers if layer.name.startswith("lrn")]
    dense = [layer.units for layer in model.get_layer("head")._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    assert model.get_layer("pool1").pool_size == (2, 2) and dense == [1024, 1024]
    assert model.get_layer("predictions").units == 1000


def test_googlenet_width_multiplier_scales_every_module():
    # Table 1's inception_5b: 384 + 384 + 128 + 128 = 1024 channels; halved: 512.
    model = create_model("googlenet", width_multiplier=0.5, include_top=False, input_shape=(64, 64, 3))
    assert model.get_layer("inception_5b").output.shape[-1] == 512
    assert model.get_layer("conv2").output.shape[-1] == 96
    quarter = create_model("googlenet", width_multiplier=0.25, include_top=False, input_shape=(64, 64, 3))
    # 384/4, 384/4, max(128/4, 16), max(128/4, 16): 96 + 96 + 32 + 32
    assert quarter.get_layer("inception_5b").output.shape[-1] == 256


def test_influence_ranks_what_the_objective_follows():
    table = [{"status": "completed", "val_accuracy": y, "lr": lr, "optimizer": opt, "width": 1}
             for y, lr, opt in ((0.1, 1e-4, "sgd"), (0.4, 1e-3, "adamw"), (0.2, 3e-4, "sgd"), (0.9, 1e-2, "adamw"))]
    knobs = [SPACES["training"].all_knobs[1], SPACES["training"].all_knobs[0], SPACES["lenet"].knobs[1]]
    ranked = results_module.influential(table, knobs)
    assert [knob.name for knob, _ in ranked] == ["lr", "optimizer"]  # width never changes
    assert ranked[0][1] == pytest.approx(1.0)  # the accuracy rises with lr in every trial
    # correlation ratio: group means 0.15 and 0.65 around 0.4: between 4 x 0.25^2 = 0.25,
    # total 0.09 + 0 + 0.04 + 0.25 = 0.38
    assert ranked[1][1] == pytest.approx((0.25 / 0.38) ** 0.5)


def _error(argv, capsys):
    from keras_cnns.tuning.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("tuning/search.py: error: ")
    return err


def test_bad_input_stops_with_one_line(tmp_path, capsys):
    out = ["--output", str(tmp_path / "s")]
    assert "The zfnet space is for alexnet, alexnet_owt, zfnet; resnet18 takes ['resnet', 'training']. Received: space='zfnet'" in _error(
        ["--arch", "resnet18", "--space", "zfnet", *out], capsys)
    assert "Unknown knobs ['conv1_kernel']" in _error(["--arch", "lenet5", "--fixed", "conv1_kernel=7", *out], capsys)
    assert "Expected `chief` to be HOST:PORT" in _error(["--arch", "lenet5", "--chief", "nowhere", *out], capsys)
    assert "Expected `max_trials` to be a positive int. Received: max_trials=0" in _error(
        ["--arch", "lenet5", "--max-trials", "0", *out], capsys)
    assert "Did you mean: googlenet" in _error(["--arch", "googlenett", *out], capsys)


def test_python_m_keras_cnns_tune_is_tuning_search_py(capsys):
    from keras_cnns.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["tune", "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: python -m keras_cnns tune")
    for option in ("--space", "--tuner", "--max-trials", "--fixed", "--chief", "--worker", "--strategy", "--cpu-replicas",
                   "--dataset", "--recipe", "--epochs"):
        assert option in help_text
    assert "--resume" not in help_text and "--save-every" not in help_text
