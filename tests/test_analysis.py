"""The report, compare and diagram commands and the model benchmark.

Every registered model's report totals are checked against count_params and the
metadata in test_models.py; here, the tables themselves against the papers.
"""

import csv
import importlib.util
import io
import json
import os
import pathlib
import runpy
import shutil
import subprocess
import sys

import keras
import pytest

import keras_cnns
from keras_cnns import analysis, compare, diagram
from keras_cnns.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_alexnet_report_has_the_papers_maps_and_receptive_fields(capsys):
    code, out, _ = _run(["report", "alexnet", "--format", "json"], capsys)
    assert code == 0
    report = json.loads(out)
    rows = {row["layer"]: row for row in report["layers"]}
    # Krizhevsky et al. 2012, Section 3.5 / Fig. 2: 55x55x96, 27x27x256, 13x13x384, 13x13x256.
    assert [rows[n]["output_shape"] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv5", "pool5")] == [
        "55x55x96", "27x27x96", "27x27x256", "13x13x256", "13x13x384", "13x13x256", "6x6x256"]
    # Receptive fields, r_out = r_in + (k - 1) * jump: 11, 19, 51, 67, 99, 131, 163, 195.
    assert [rows[n]["receptive_field"] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")] == [
        "11", "19", "51", "67", "99", "131", "163", "195"]
    assert rows["conv1"]["kernel"] == "11" and rows["conv1"]["stride"] == "4" and rows["conv1"]["filters"] == "96"
    assert rows["conv1"]["macs"] == 55 * 55 * 96 * 11 * 11 * 3  # 105,415,200
    assert report["trainable_params"] == 60_965_224 and report["depth"] == 8
    assert report["macs"] == sum(row["macs"] for row in report["layers"])
    assert report["input_shape"] == [227, 227, 3]
    code, text, _ = _run(["report", "alexnet"], capsys)
    assert "Parameters: 60,965,224 (60,965,224 trainable, 0 non-trainable)" in text
    assert "Multiply-adds: 724,406,816 (0.7244 G)" in text
    assert "Depth: 8 weight layers on the longest path; receptive field 195 pixels" in text


def test_report_formats_and_input_size(capsys):
    _, text, _ = _run(["report", "lenet5", "--input-size", "40", "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["layer"] for row in rows] == ["c1", "s2", "c3", "s4", "head", "predictions", "total"]
    assert rows[0]["input_shape"] == "40x40x1" and rows[0]["output_shape"] == "36x36x6"
    model = keras_cnns.create_model("lenet5", input_shape=(40, 40, 1))
    assert int(rows[-1]["params"]) == model.count_params()
    assert int(rows[-1]["macs"]) == keras_cnns.count_macs(model)
    _, text, _ = _run(["report", "lenet5", "--format", "markdown"], capsys)
    assert text.startswith("### lenet5\n\n| layer | type | input |")
    assert "| c1 | ConvBNAct | 32x32x1 | 5 | 1 | valid | 6 | 28x28x6 | 156 | 117,600 | 5 |" in text
    assert "- Depth: 5 weight layers" in text
    code, _, err = _run(["report", "lenet5", "--input-size", "8"], capsys)
    assert code == 2 and "lenet5 needs an input of at least 16x16. Received: input_size=8" in err
    with pytest.raises(ValueError, match="Received: format='xml'"):
        analysis.format_report(analysis.model_report(model), "xml")
    with pytest.raises(ValueError, match="Received: expand=-1"):
        analysis.model_report(model, expand=-1)


def test_expanded_inception_module_has_the_papers_table_1_row():
    report = keras_cnns.model_report("googlenet", expand=1)
    rows = {row.layer: row for row in report.rows}
    module = rows["inception_3a"]
    assert module.input_shape == "28x28x192" and module.output_shape == "28x28x256"
    # Table 1, inception (3a): #1x1 64, #3x3 reduce 96, #3x3 128, #5x5 reduce 16, #5x5 32, pool proj 32.
    branches = {name.split("/")[1]: rows[name] for name in rows if name.startswith("inception_3a/")}
    assert {name: (row.kernel, row.filters) for name, row in branches.items() if row.filters} == {
        "branch1x1": ("1", "64"), "branch3x3_reduce": ("1", "96"), "branch3x3": ("3", "128"),
        "branch5x5_reduce": ("1", "16"), "branch5x5": ("5", "32"), "pool_proj": ("1", "32")}
    assert all(row.level == 1 for row in branches.values())
    assert sum(row.macs for row in branches.values()) == module.macs  # Table 1: 128M ops
    assert round(module.macs / 1e6) == 128
    # Without the 1x1 reductions the 3x3 and 5x5 branches alone would cost
    # 28*28*192*(128*9 + 32*25) = 294M multiply-adds, 2.3 times the whole module.
    assert 2.2 < 28 * 28 * 192 * (128 * 9 + 32 * 25) / module.macs < 2.4
    assert [row.layer for row in report.rows if row.level == 0] == [layer.name for layer in
                                                                     keras_cnns.create_model("googlenet").layers[1:]]


def test_two_3x3_convolutions_see_what_one_5x5_sees_with_18_instead_of_25_c_squared():
    c = 32
    inputs = keras.Input((16, 16, c))
    stacked = keras.layers.Conv2D(c, 3, use_bias=False)(keras.layers.Conv2D(c, 3, use_bias=False)(inputs))
    single = keras.layers.Conv2D(c, 5, use_bias=False)(inputs)
    two, one = (analysis.model_report(keras.Model(inputs, out)) for out in (stacked, single))
    assert two.receptive_field == one.receptive_field == "5"
    assert (two.trainable_params, one.trainable_params) == (18 * c * c, 25 * c * c)
    assert two.depth == 2 and one.depth == 1


def test_compare_lists_every_registered_model(capsys, tmp_path):
    code, out, _ = _run(["compare"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines == compare.markdown_table()
    assert [line.split("|")[1].strip(" `") for line in lines[2:]] == keras_cnns.list_models()
    vgg16 = next(line for line in lines if line.startswith("| `vgg16` |"))
    assert "| 2014 | 16 | 224 (32) | 138,357,544 | 15.47 | 27 / 8.8 | dense, 1 scale (S=Q=256), Table 3 |" in vgg16
    plot = tmp_path / "compare.png"
    code, out, _ = _run(["compare", "res*", "--format", "csv", "--plot", str(plot)], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["model"] for row in rows] == keras_cnns.list_models("res*")
    resnet50 = rows[[row["model"] for row in rows].index("resnet50")]
    assert (resnet50["depth"], resnet50["params"], resnet50["top1_error"], resnet50["protocol"]) == (
        "50", "25557032", "22.85", "10 crops")
    assert resnet50["weights"] == "keras.applications.ResNet50; torchvision resnet50; timm resnet50.a1h_in1k"  # its descriptors
    assert plot.stat().st_size > 10_000


def test_diagram_of_a_block_follows_its_branches(tmp_path):
    pytest.importorskip("pydot", reason="pydot is in the test extra")
    model = keras_cnns.create_model("resnet18", input_shape=(64, 64, 3))
    dot = diagram.block_to_dot(model, "conv3_block1").to_string()
    for edge in ("input -> conv1", "conv1 -> conv2", "input -> shortcut"):
        assert edge in dot, dot
    assert "conv2 -> " in dot and "shortcut -> " in dot and "add" in dot
    out = tmp_path / "model.dot"
    assert diagram.draw(model, str(out)) == str(out)
    assert "conv3_block1" in out.read_text()
    with pytest.raises(ValueError, match="resnet18 has no layer named 'block9'.*Received: block='block9'"):
        diagram.block_to_dot(model, "block9")


def test_diagram_says_what_to_install(tmp_path, monkeypatch, capsys):
    model = keras_cnns.create_model("lenet5")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    if importlib.util.find_spec("pydot"):
        with pytest.raises(ImportError, match=r"needs Graphviz's dot program.*apt-get install graphviz"):
            diagram.draw(model, str(tmp_path / "lenet.png"))
    monkeypatch.setitem(sys.modules, "pydot", None)  # import pydot fails
    code, _, err = _run(["diagram", "lenet5", "--out", str(tmp_path / "lenet.png")], capsys)
    assert code == 2
    assert 'needs pydot. To install it: pip install "keras-cnns[diagram]"' in err


def test_benchmark_runs_at_a_tiny_size(tmp_path):
    """Both peers (torchvision where torch is installed) in one run: the run's fixed costs
    (the matmul peak, the subprocesses, loading TensorFlow and torch) are paid once."""
    torch_installed = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("torchvision")
    peers = "keras_applications,torchvision" if torch_installed else "keras_applications"
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Input pipeline\n\nkept\n")
    command = [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--models", "lenet5,mobilenet_v2", "--size", "32",
               "--batch-size", "2", "--steps", "1", "--rounds", "1", "--dtypes", "float32", "--xla", "off",
               "--peers", peers, "--results", str(results)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    text = results.read_text()
    assert "## Input pipeline\n\nkept" in text  # other sections stay
    assert "## Models: benchmarks/bench.py" in text and "Float32 matrix-multiply peak" in text
    assert "| `lenet5` | 32 | float32 | off |" in text
    assert "| MobileNetV2 |" in text  # measured against keras.applications, with ratios
    assert "failed" not in text
    assert "Machine: " in text and "TensorFlow 2.21" in text
    rows = {line.split("|")[1].strip(" `"): line.split("|") for line in text.splitlines() if line.startswith("| `")}
    assert rows["lenet5"][7] != rows["mobilenet_v2"][7]  # each model's own peak memory
    header = next(line for line in text.splitlines() if line.startswith("| model |"))
    cells = dict(zip((cell.strip() for cell in header.split("|")), (cell.strip() for cell in rows["mobilenet_v2"])))
    columns = ["train img/s", "infer img/s", "infer folded img/s", "folded / unfolded", "train ratio", "infer ratio"]
    if torch_installed:
        import torch
        import torchvision

        assert cells["torchvision"] == "mobilenet_v2 (same network, not the weights' layout)"
        columns += ["tv train ratio", "tv infer ratio"]
        machine = next(line for line in text.splitlines() if line.startswith("Machine: "))
        assert "CPU flags " in machine and f"torch {torch.__version__}" in machine
        assert f"torchvision {torchvision.__version__}" in machine and "torch threads" in machine
    for column in columns:
        assert float(cells[column]) > 0, column
    folded, unfolded = float(cells["infer folded img/s"]), float(cells["infer img/s"])  # rounded to 0.05
    ratio = float(cells["folded / unfolded"])
    assert (folded - 0.05) / (unfolded + 0.05) - 0.005 <= ratio <= (folded + 0.05) / (unfolded - 0.05) + 0.005


def test_benchmark_rejects_bad_options_in_one_line():
    bench = runpy.run_path(str(ROOT / "benchmarks" / "bench.py"))["main"]
    with pytest.raises(SystemExit, match=r"Did you mean: resnet50.*Received: name='resnt50'"):
        bench(["--models", "resnt50", "--results", "-"])
    with pytest.raises(SystemExit, match=r"--xla takes a comma-separated list of \['off', 'on'\]. Received: --xla=maybe"):
        bench(["--models", "lenet5", "--xla", "maybe", "--results", "-"])
