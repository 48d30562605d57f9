"""train.py, in its foundation form: build, check against the registry, summarize."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("train", ROOT / "train.py")
train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train)


def test_builds_and_checks_the_published_configuration(capsys):
    assert train.main(["--arch", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "input 32x32x1: 61,706 trainable parameters" in out
    assert "match the published figures" in out


def test_other_sizes_build_without_the_check(capsys):
    assert train.main(["--arch", "resnet18", "--image-size", "64", "--num-classes", "10"]) == 0
    out = capsys.readouterr().out
    assert "input 64x64x3: 11,181,642 trainable parameters" in out  # 11,689,512 - 512 * 990 - 990
    assert "published" not in out


def test_bad_arguments_stop_with_one_line(capsys):
    assert train.main(["--arch", "googlenett"]) == 2
    assert "Did you mean: googlenet" in capsys.readouterr().err
    assert train.main(["--arch", "resnet18", "--image-size", "20"]) == 2
    assert "at least 32x32 for resnet18. Received: input_shape=(20, 20, 3)" in capsys.readouterr().err
