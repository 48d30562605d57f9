"""``python -m keras_cnns experiment``: degradation end to end at a tiny budget, its verdict, the CLI."""

import csv

import pytest

from keras_cnns.__main__ import main
from keras_cnns.experiments import degradation
from keras_cnns.experiments.degradation import Curve, Result

TINY = ["--dataset", "synthetic:classes=3,examples=24", "--epochs", "2", "--batch-size", "8", "--image-size", "8",
        "--verbose", "0"]


def test_degradation_end_to_end_and_resumed(tmp_path, capsys):
    out = tmp_path / "degradation"
    assert main(["experiment", "degradation", "--depths", "20,32", "--output", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(degradation.CLAIM)
    assert (out / "degradation.png").stat().st_size > 10_000
    rows = list(csv.DictReader((out / "degradation.csv").open()))
    assert [(r["model"], r["epoch"]) for r in rows] == [
        (model, str(epoch)) for model in ("plain20", "resnet20", "plain32", "resnet32") for epoch in (1, 2)]
    assert all(0 <= float(r["train_error"]) <= 100 and 0 <= float(r["val_error"]) <= 100 for r in rows)
    table = printed.splitlines()[printed.splitlines().index(degradation.table(Result([], 2, ""))[0]):]
    assert [line.split()[0] for line in table[1:5]] == ["plain20", "resnet20", "plain32", "resnet32"]
    last = {r["model"]: r for r in rows if r["epoch"] == "2"}
    assert f"{float(last['plain32']['train_error']):.2f}" in table[3]  # the table prints the CSV's last epoch
    assert "plain: plain32 ends at" in printed and "residual: resnet32 ends at" in printed and "verdict:" in printed
    for model in ("plain20", "resnet32"):  # each network is a train.py run of its own, at the paper's recipe
        config = (out / model / "config.json").read_text()
        assert '"optimizer": "sgd"' in config and '"augment": "cifar"' in config and '"lr": 0.00625' in config
    # Run again: every network finished, nothing is trained, the outputs are rewritten the same.
    assert main(["experiment", "degradation", "--depths", "20,32", "--output", str(out), *TINY]) == 0
    again = capsys.readouterr().out
    assert again.count("finished earlier") == 4
    assert list(csv.DictReader((out / "degradation.csv").open())) == rows
    # Another length in the same folder would mix two schedules: refused, in one line.
    args = ["experiment", "degradation", "--depths", "20,32", "--output", str(out), *TINY]
    args[args.index("--epochs") + 1] = "3"
    assert main(args) == 2
    assert f"{out / 'plain20'} holds a run of 2 epochs: run with --epochs 2 (to finish or read it)" in capsys.readouterr().err


def _curve(kind, depth, final_train):
    return Curve(f"{kind}{depth}", kind, depth, [50.0, final_train], [60.0, final_train + 1])


def test_the_verdict_compares_the_final_training_errors():
    holds = Result([_curve("plain", 20, 1.0), _curve("resnet", 20, 1.5), _curve("plain", 56, 9.0),
                    _curve("resnet", 56, 0.5)], 2, "digits")
    assert holds.plain_degrades and not holds.residual_degrades
    assert holds.verdict() == [
        "plain: plain56 ends at 9.00% training error, plain20 at 1.00% (+8.00 points): degradation",
        "residual: resnet56 ends at 0.50% training error, resnet20 at 1.50% (-1.00 points): no degradation",
        "verdict: the claim holds at this budget",
    ]
    neither = Result([_curve("plain", 20, 3.0), _curve("resnet", 20, 1.0), _curve("plain", 56, 2.0),
                      _curve("resnet", 56, 2.0)], 2, "digits")
    assert not neither.plain_degrades and neither.residual_degrades
    assert neither.verdict()[-1] == ("verdict: the claim does not show at this budget "
                                     "(the deeper plain network did not train worse)")


@pytest.mark.parametrize("depths, shown", [("20", "(20,)"), ("20,110", "(20, 110)"), ("20,20", "(20, 20)")])
def test_bad_depths_are_one_line_errors(depths, shown, capsys):
    assert main(["experiment", "degradation", "--depths", depths]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"error: Expected two or more distinct depths among [20, 32, 44, 56] (the registered plainN and "
                     f"resnetN). Received: depths={shown}")


def test_factorization_command(capsys):
    assert main(["experiment", "factorization", "--channels", "16", "--size", "14", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    two = next(r for r in rows if r["design"] == "two 3x3")
    assert (int(two["params"]), two["receptive_field"]) == (18 * 16 * 16, "5x5")
    assert main(["experiment", "factorization", "--size", "5"]) == 2
    assert "Received: size=5" in capsys.readouterr().err
