"""``python -m keras_cnns export``: each format is written by Keras' ``Model.export``, loaded
back by its own runtime (TensorFlow, onnxruntime, the LiteRT interpreter) and compared
with the Keras model's outputs.

The runtimes come with the ``export`` extra, which the test command installs. Models
are tiny (LeNet-5 at 32x32; GoogLeNet at 79x79, the smallest input of its auxiliary
classifiers) and random, with logits as outputs where the check must be sensitive.
"""

import json
import os
import sys

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import export
from keras_cnns.__main__ import main
from keras_cnns.weights.saved import RunRecord, write_run

LENET_PREP = keras_cnns.model_info("lenet5").preprocessing
DIGITS = tuple("zero one two three four five six seven eight nine".split())


def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _runtime_outputs(fmt, path, x):
    """The artifact at ``path`` run by its runtime, written here apart from
    ``keras_cnns.export``'s own runners."""
    if fmt == "saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(path)
        return loaded.signatures["serving_default"](input=tf.constant(x))["output_0"].numpy()
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        (source,) = session.get_inputs()
        assert len(session.get_outputs()) == 1
        return session.run(None, {source.name: x})[0]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    (source,) = interpreter.get_input_details()
    assert len(interpreter.get_output_details()) == 1
    interpreter.resize_tensor_input(source["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def _run_folder(folder, model, class_names, image_size):
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, "best.keras"))
    write_run(folder, RunRecord(arch=model.name, class_names=class_names, image_size=image_size, dataset="digits",
                                preprocessing=keras_cnns.model_info(model.name).preprocessing))
    return str(folder)


def test_the_relative_difference_is_relative_to_the_largest_output_and_flags_a_perturbed_one():
    keras_out = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], "float32")
    assert export.relative_difference(keras_out, keras_out) == (0.0, 0.0)
    absolute, relative = export.relative_difference(keras_out + [[0, 3.5e-5, 0], [0, 0, 0]], keras_out)
    assert absolute == pytest.approx(3.5e-5, rel=1e-3) and relative == pytest.approx(5e-5, rel=1e-3)
    assert relative <= export.TOLERANCE
    assert export.relative_difference(keras_out * (1 + 2e-4), keras_out)[1] > export.TOLERANCE
    assert export.relative_difference(keras_out[:1], keras_out) == (float("inf"), float("inf"))
    assert export.relative_difference(np.where(keras_out > 0.5, np.nan, keras_out), keras_out)[1] == float("inf")
    zeros = np.zeros((2, 3))
    assert export.relative_difference(zeros, zeros) == (0.0, 0.0)
    assert export.relative_difference(zeros + 1e-9, zeros)[1] > export.TOLERANCE


@pytest.mark.parametrize("fmt", ["saved_model", "onnx", "litert"])
def test_each_format_run_by_its_runtime_matches_keras(fmt, tmp_path):
    model = keras_cnns.create_model("lenet5", classifier_activation=None)  # logits: no softmax to flatten errors
    inputs = export.sample_inputs(LENET_PREP, 32)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(inputs, LENET_PREP.normalize(pixels))  # normalized as the model expects

    report = export.export(model, [fmt], str(tmp_path), inputs)
    record = report["formats"][fmt]
    assert record["passed"] and record["max_rel_diff"] <= export.TOLERANCE, record
    assert record["path"] == export.FORMATS[fmt][0] and record["runtime"].split()[0] == export.FORMATS[fmt][2]
    assert json.loads((tmp_path / "export.json").read_text())["formats"][fmt] == record

    path = str(tmp_path / record["path"])
    for batch in (inputs, np.concatenate([inputs, -inputs, inputs[:1]])):  # the batch is dynamic
        expected, actual = _outputs(model, batch), _runtime_outputs(fmt, path, batch)
        assert actual.shape == expected.shape == (len(batch), 10)
        assert np.abs(actual - expected).max() <= export.TOLERANCE * np.abs(expected).max()
        assert export.relative_difference(actual, expected)[1] <= export.TOLERANCE
        assert export.relative_difference(actual * (1 + 1e-3), expected)[1] > export.TOLERANCE


def test_grouped_convolutions_reach_onnx_as_grouped_convs(tmp_path):
    """Keras runs them in an XLA function, which tf2onnx cannot convert
    (``export.plain_convolutions``)."""
    import onnx

    inputs = keras.Input((12, 12, 4), name="input")
    x = keras.layers.Conv2D(8, 3, groups=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    sample = np.random.default_rng(0).normal(size=(2, 12, 12, 4)).astype("float32")
    record = export.export(model, ["onnx"], str(tmp_path), sample)["formats"]["onnx"]
    assert record["passed"], record
    convs = [node for node in onnx.load(tmp_path / "model.onnx").graph.node if node.op_type == "Conv"]
    assert [attribute.i for node in convs for attribute in node.attribute if attribute.name == "group"] == [2]
    assert keras.src.backend.tensorflow.nn.conv.__module__.startswith("keras.")  # restored


def test_a_run_folder_in_every_format(tmp_path, capsys):
    run = _run_folder(tmp_path / "run", keras_cnns.create_model("lenet5"), DIGITS, 32)
    assert main(["export", run, "--format", "saved_model,onnx,litert"]) == 0
    printed = capsys.readouterr().out.splitlines()
    folder = os.path.join(run, "export")  # the default --output
    assert printed[0] == (f"lenet5 from {run}/best.keras: input (2, 32, 32, 1), output (2, 10); "
                          "tolerance 1e-04 relative; 0 batch norms folded")  # LeNet-5 has none
    assert [line.split()[:2] for line in printed[1:4]] == [["saved_model", f"{folder}/saved_model"],
                                                          ["onnx", f"{folder}/model.onnx"],
                                                          ["litert", f"{folder}/model.tflite"]]
    assert all(line.endswith("PASS") and "max rel diff" in line for line in printed[1:4])
    assert printed[4] == f"wrote {folder}/export.json, {folder}/labels.txt"
    assert sorted(os.listdir(folder)) == ["export.json", "labels.txt", "model.onnx", "model.tflite", "saved_model"]
    assert (tmp_path / "run" / "export" / "labels.txt").read_text().splitlines() == list(DIGITS)
    report = json.loads((tmp_path / "run" / "export" / "export.json").read_text())
    assert report["input_shape"] == [None, 32, 32, 1] and report["output_shape"] == [None, 10]
    assert report["tolerance"] == 1e-4 and list(report["formats"]) == ["saved_model", "onnx", "litert"]
    for record in report["formats"].values():
        assert record["passed"] and 0 <= record["max_abs_diff"] and record["max_rel_diff"] <= 1e-4
        assert record["runtime"].split()[1][0].isdigit()
    assert report["formats"]["onnx"]["converter"].startswith("tf2onnx ")


def _graph_ops(saved_model):
    """The op types of a SavedModel's graph and functions."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    graphs = [graph.graph_def for graph in proto.meta_graphs]
    return [node.op for graph in graphs for node in [*graph.node, *(n for f in graph.library.function for n in f.node_def)]]


def test_batch_norms_are_folded_unless_no_fold_and_checked_against_the_unfolded_model(tmp_path, capsys):
    model = keras_cnns.create_model("resnet20", classifier_activation=None)
    rng = np.random.default_rng(0)
    for w in model.weights:  # statistics a fold could get wrong (a fresh model's are ones and zeros)
        if w.path.endswith(("moving_mean", "beta")):
            w.assign(rng.normal(0, 0.5, w.shape))
        elif w.path.endswith(("moving_variance", "gamma")):
            w.assign(rng.uniform(0.5, 1.5, w.shape))
    run = _run_folder(tmp_path / "run", model, DIGITS, 32)
    inputs = export.sample_inputs(keras_cnns.model_info("resnet20").preprocessing, 32)
    for flags, ending, folded, fused in [([], "; 19 batch norms folded", 19, 0),
                                         (["--no-fold"], "; batch norms not folded", None, 19)]:
        out = tmp_path / ("out" + "".join(flags))
        assert main(["export", run, "--output", str(out), *flags]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[0].endswith(ending) and printed[1].endswith("PASS")
        assert json.loads((out / "export.json").read_text())["folded_batch_norms"] == folded
        ops = _graph_ops(str(out / "saved_model"))
        assert ops.count("FusedBatchNormV3") == fused and ops.count("Conv2D") == 19
        actual = _runtime_outputs("saved_model", str(out / "saved_model"), inputs)
        assert export.relative_difference(actual, _outputs(model, inputs))[1] <= 1e-5


def test_a_wrong_fold_fails_the_check_against_the_unfolded_model(tmp_path, monkeypatch):
    from keras_cnns import fold

    source = keras.Input((8, 8, 3), name="input")
    model = keras.Model(source, keras_cnns.layers.ConvBNAct(4, 3, activation=None)(source))
    right = fold.folded_weights
    monkeypatch.setattr(fold, "folded_weights", lambda conv, bn: (right(conv, bn)[0], right(conv, bn)[1] + 0.01))
    inputs = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    report = export.export(model, ["saved_model"], str(tmp_path), inputs)
    assert report["folded_batch_norms"] == 1
    assert not report["formats"]["saved_model"]["passed"] and report["formats"]["saved_model"]["max_rel_diff"] > 1e-3


def test_a_model_trained_with_auxiliary_classifiers_exports_its_main_output_only(tmp_path, capsys):
    train = keras_cnns.create_model("googlenet", aux_logits=True, num_classes=10, input_shape=(79, 79, 3))
    assert len(train.outputs) == 3
    run = _run_folder(tmp_path / "run", train, DIGITS, 79)
    out = str(tmp_path / "out")
    assert main(["export", run, "--format", "onnx", "--output", out]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("PASS")
    assert json.loads((tmp_path / "out" / "export.json").read_text())["output_shape"] == [None, 10]
    inputs = export.sample_inputs(keras_cnns.model_info("googlenet").preprocessing, 79)
    actual = _runtime_outputs("onnx", os.path.join(out, "model.onnx"), inputs)  # asserts a single output
    expected = _outputs(train, inputs)[0]  # the main output
    assert actual.shape == (2, 10) and export.relative_difference(actual, expected)[1] <= export.TOLERANCE


def test_arch_and_a_weights_file_default_to_a_saved_model(tmp_path, capsys, monkeypatch):
    model = keras_cnns.create_model("lenet5", num_classes=4)
    weights = str(tmp_path / "lenet.weights.h5")
    model.save_weights(weights)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--arch", "lenet5", "--weights", weights, "--num-classes", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"lenet5 with weights {weights}: input (2, 32, 32, 1), output (2, 4)")
    assert len(printed) == 3 and printed[1].startswith("saved_model  exports/lenet5/saved_model ")
    assert printed[2] == "wrote exports/lenet5/export.json"  # no class names: no labels.txt
    assert sorted(os.listdir("exports/lenet5")) == ["export.json", "saved_model"]
    inputs = export.sample_inputs(LENET_PREP, 32)
    actual = _runtime_outputs("saved_model", "exports/lenet5/saved_model", inputs)
    assert export.relative_difference(actual, _outputs(model, inputs))[1] <= export.TOLERANCE  # the file's weights


def test_a_format_that_fails_its_check_or_cannot_run_sets_the_exit_status(tmp_path, capsys, monkeypatch):
    run = _run_folder(tmp_path / "run", keras_cnns.create_model("lenet5"), DIGITS, 32)
    runner = export.RUNNERS["saved_model"]
    monkeypatch.setitem(export.RUNNERS, "saved_model", lambda path, x: runner(path, x) * (1 + 1e-3))

    def broken(path, x):
        raise RuntimeError("no kernel for that op\nsecond line")

    monkeypatch.setitem(export.RUNNERS, "onnx", broken)
    assert main(["export", run, "--format", "saved_model,onnx", "--output", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[1].startswith("saved_model") and lines[1].endswith("max rel diff 1.0e-03  FAIL"), lines[1]
    assert lines[2].startswith("onnx") and lines[2].endswith("FAIL (RuntimeError: no kernel for that op)")
    assert captured.err == "error: saved_model, onnx failed the check against Keras (export.json)\n"
    report = json.loads((tmp_path / "out" / "export.json").read_text())["formats"]
    assert not report["saved_model"]["passed"] and report["saved_model"]["max_rel_diff"] > 1e-4
    assert report["onnx"] == {**report["onnx"], "passed": False, "max_rel_diff": None,
                              "error": "RuntimeError: no kernel for that op"}


def test_a_mixed_precision_model_is_exported_in_float32(tmp_path):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = keras_cnns.create_model("lenet5", classifier_activation=None)
    finally:
        keras.config.set_dtype_policy(previous)
    reference = keras_cnns.create_model("lenet5", classifier_activation=None)
    reference.set_weights(mixed.get_weights())
    converted = export.float32_model(mixed)
    assert {layer.dtype_policy.name for layer in mixed.layers} >= {"mixed_bfloat16"}
    assert {layer.dtype_policy.name for layer in converted.layers} == {"float32"}
    inputs = export.sample_inputs(LENET_PREP, 32)
    np.testing.assert_array_equal(_outputs(converted, inputs), _outputs(reference, inputs))
    assert export.float32_model(reference) is reference


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{run}", "--format", "xx"],
         "Expected `format` to be a comma-separated list of saved_model, onnx, litert. Received: format='xx'"),
        (["{run}", "--format", "onnx,"], "Received: format='onnx,'"),
        (["{tmp}"], "No best.keras in that run folder: train.py writes it once an epoch has ended. Received: run="),
        (["{tmp}/missing"], "No run folder or .keras file at that path. Received: run="),
        ([], "export needs a run folder (export RUN) or --arch and --weights. Received: arch=None, weights=None"),
        (["--arch", "lenet5"], "Received: arch='lenet5', weights=None"),
        (["{run}", "--arch", "lenet5"], "Pass a run folder, or --arch and --weights, not both. Received: run="),
        (["--arch", "lenet5", "--weights", "imagenet"], "lenet5 has no 'imagenet' weights"),
        (["--arch", "lenet5", "--weights", "{tmp}/w.weights.h5"], "No weights file at that path. Received: weights="),
        (["--arch", "lenet5", "--weights", "{run}/best.keras", "--image-size", "0"],
         "Expected --image-size to be a positive int. Received: image_size=0"),
        (["{run}", "--image-size", "64"], "The model takes 32x32 inputs. Received: image_size=64"),
        (["--arch", "lenet5", "--weights", "{run}", "--num-classes", "3"],
         "A run folder or .keras file sets the model's classes and width. Received: weights="),
        (["--arch", "nope", "--weights", "imagenet"], "Unknown model name."),
    ],
)
def test_bad_input_is_one_error_line(argv, message, tmp_path, capsys):
    run = str(tmp_path / "run")
    if any("{run}" in arg for arg in argv):
        _run_folder(run, keras_cnns.create_model("lenet5"), DIGITS, 32)
    assert main(["export", *(arg.format(tmp=tmp_path, run=run) for arg in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("fmt, module", [("onnx", "onnxruntime"), ("onnx", "tf2onnx"),
                                         ("litert", "ai_edge_litert.interpreter")])
def test_a_missing_runtime_names_the_extra(fmt, module, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # what an environment without the extra sees
    argv = ["export", "--arch", "lenet5", "--weights", str(tmp_path / "w.weights.h5"), "--format", f"saved_model,{fmt}"]
    assert main(argv) == 2  # before anything is loaded: the weights file need not exist
    err = capsys.readouterr().err
    assert err == (f'error: --format {fmt} needs the export extra: pip install "keras-cnns[export]" '
                   f"(missing: {module.split('.')[0]}). Received: format='{fmt}'\n")
