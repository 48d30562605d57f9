"""benchmarks/bench.py against torchvision: the twins it picks from the registry, how it
builds them, the report's summary line (the tiny run with both peers is in
tests/test_analysis.py).

torch and torchvision come with the ``torch`` extra; without them these tests skip.
"""

import pathlib
import runpy
import types

import pytest

torch = pytest.importorskip("torch", reason='torch is not installed: pip install "keras-cnns[torch]"')
torchvision = pytest.importorskip("torchvision", reason='torchvision is not installed: pip install "keras-cnns[torch]"')

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = runpy.run_path(str(ROOT / "benchmarks" / "bench.py"))
TWIN = BENCH["Twin"]


def test_torchvision_twins_come_from_the_registry():
    twin = BENCH["torchvision_twin"]
    assert twin("resnet50") == ("resnet50", {"stride_in_3x3": True}, True)  # its weights' layout, v1.5
    assert twin("googlenet_bn")[:2] == ("googlenet", {"transform_input": True})
    assert twin("mobilenet_v2") == ("mobilenet_v2", {}, False)  # the same network by name only
    assert twin("googlenet") is None  # torchvision's GoogLeNet is googlenet_bn's
    assert twin("alexnet") is None  # torchvision's AlexNet is alexnet_owt's
    assert twin("lenet5") is None


def test_torchvision_twin_is_built_as_ours():
    builder = torchvision.models.get_model_builder("googlenet")
    kwargs = BENCH["_torch_kwargs"](builder, {"transform_input": True, "kernel_5x5": 3}, 10)
    assert kwargs == {"num_classes": 10, "aux_logits": False, "init_weights": True, "transform_input": True}
    model = builder(weights=None, **kwargs)
    assert model.aux1 is None and model.transform_input and model.fc.out_features == 10
    assert BENCH["_torch_kwargs"](torchvision.models.get_model_builder("resnet50"), {"stride_in_3x3": True}, 5) == {
        "num_classes": 5}


def test_report_summarizes_resnet50():
    def row(options, dtype, ours, folded, **peers):
        return {"model": "resnet50", "model_args": options, "size": 64, "dtype": dtype, "xla": False,
                "ours": {"train": ours[0], "infer": ours[1], "memory": 100.0}, "folded": {"infer": folded},
                "twins": {"keras": TWIN("ResNet50", {}, True), "torchvision": TWIN("resnet50", options, True)},
                **{impl: {"train": rates[0], "infer": rates[1], "memory": 100.0} for impl, rates in peers.items()}}

    rows = [
        row({}, "float32", (4.0, 10.0), 12.0, keras=(5.0, 8.0)),
        row({"stride_in_3x3": True}, "float32", (3.0, 9.0), 11.0, torchvision=(6.0, 18.0)),
        row({}, "mixed_bfloat16", (6.0, 20.0), 25.0, keras=(6.0, 16.0)),
        # bfloat16 / float32 training is 2.0 in this layout and 1.50 as registered: the summary's "ours".
        row({"stride_in_3x3": True}, "mixed_bfloat16", (6.0, 15.0), 16.0, torchvision=(12.0, 30.0)),
    ]
    args = types.SimpleNamespace(peers=["keras_applications", "torchvision"], batch_size=2, steps=1, rounds=1, argv=[])
    text = BENCH["report"](rows, 100.0, args, "a machine")
    assert text.rstrip().splitlines()[-1] == (
        "`resnet50` at 64, XLA off: ours / keras.applications: train 0.80, infer 1.25 (float32); train 1.00, infer "
        "1.25 (mixed_bfloat16); ours (stride_in_3x3=True) / torchvision: train 0.50, infer 0.50 (float32); train "
        "0.50, infer 0.50 (mixed_bfloat16); folded / unfolded inference: 1.20 (float32), 1.25 (mixed_bfloat16); "
        "mixed_bfloat16 / float32 training: ours 1.50, torchvision 2.00."
    )


def test_benchmark_rejects_bad_peers_in_one_line():
    with pytest.raises(SystemExit, match=r"^error: --peers takes a comma-separated list of \['keras_applications', "
                                         r"'torchvision'\]. Received: --peers=keras,torchvision$"):
        BENCH["main"](["--models", "lenet5", "--peers", "keras,torchvision", "--results", "-"])


def test_twins_are_the_networks_keras_applications_has():
    twins = BENCH["_models"]("twins")
    assert len(twins) == 12 and {"resnet50", "vgg16", "densenet121", "mobilenet_v2", "inception_resnet_v2"} <= set(twins)
    assert "alexnet" not in twins and "bn_inception" not in twins  # they have other sources' weights only
