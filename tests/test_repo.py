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


def _readme_table(header):
    """The rows of the README's Markdown table that begins with the line ``header``."""
    readme = (ROOT / "README.md").read_text().splitlines()
    rows = []
    for line in readme[readme.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_readme_model_table_is_generated_from_the_registry():
    from keras_cnns.compare import markdown_table

    rows = _readme_table(markdown_table()[0])
    assert rows == markdown_table()[2:], "regenerate with: python -m keras_cnns compare"
    assert len(rows) == len(keras_cnns.list_models())


def test_readme_weights_table_is_generated_from_the_registry():
    from keras_cnns.compare import weights_table

    rows = _readme_table(weights_table()[0])
    assert rows == weights_table()[2:], "regenerate with: python -m keras_cnns list --pretrained --format markdown"
    assert len(rows) == sum(len(keras_cnns.model_info(n).weights) for n in keras_cnns.list_models())
