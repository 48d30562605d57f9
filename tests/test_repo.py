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


def test_readme_model_table_is_generated_from_the_registry():
    from keras_cnns.compare import markdown_table

    readme = (ROOT / "README.md").read_text().splitlines()
    start = readme.index(markdown_table()[0])  # the table's header line
    rows = []
    for line in readme[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert rows == markdown_table()[2:], "regenerate with: python -m keras_cnns compare"
    assert len(rows) == len(keras_cnns.list_models())
