"""The README and CI agree, and the README documents every registered model."""

import pathlib

import keras_cnns

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _test_command():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return next(line for line in lines if "pytest" in line and not line.startswith("#"))


def test_ci_runs_the_readme_test_command():
    command = _test_command()
    assert "pytest" in command
    assert command in (ROOT / "README.md").read_text()


def test_readme_lists_every_model_with_its_parameter_count():
    readme = (ROOT / "README.md").read_text()
    for name in keras_cnns.list_models():
        info = keras_cnns.model_info(name)
        assert f"| `{name}` |" in readme, name
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"{info.params:,}" in row and f"{info.macs:.3f}" in row, row
