"""The factorization experiment: its measured numbers against the papers' closed forms.

Every expected count below is written out from the layer widths, independently of the
module, so a change in what the module builds (a bias, a kernel, a width) fails here.
"""

import csv
import io
import re

import pytest

from keras_cnns.experiments import factorization

#: (C, size) of comparisons 1-3: the defaults and a small non-default pair.
SETTINGS = [(64, 56), (16, 14)]


@pytest.fixture(scope="module")
def measured():
    return {setting: factorization.rows(*setting) for setting in SETTINGS}


def _by_comparison(rows):
    groups = {}
    for row in rows:
        groups.setdefault(row["comparison"], []).append(row)
    return list(groups.values())


def test_layout(measured):
    rows = measured[SETTINGS[0]]
    assert [len(group) for group in _by_comparison(rows)] == [2] * 6
    assert all(list(row) == list(factorization.COLUMNS) for row in rows)
    for group in _by_comparison(rows):
        assert group[0]["params_ratio"] == group[0]["macs_ratio"] == 1.0
        assert all(row["params_ratio"] == group[0]["params"] / row["params"] for row in group)
        assert all(row["macs_ratio"] == group[0]["macs"] / row["macs"] for row in group)


@pytest.mark.parametrize("channels, size", SETTINGS)
def test_convolution_stacks(measured, channels, size):
    """25C² vs 18C², 49C² vs 27C², 49C² vs 14C² bias-free weights; MACs = weights x H x W."""
    expected = [(25, "5x5"), (18, "5x5"), (49, "7x7"), (27, "7x7"), (49, "7x7"), (14, "7x7")]
    rows = measured[(channels, size)][:6]
    for row, (per_c2, field) in zip(rows, expected):
        assert row["params"] == per_c2 * channels * channels, row
        assert row["macs"] == per_c2 * channels * channels * size * size, row
        assert row["receptive_field"] == field, row
        assert row["input"] == row["output"] == f"{size}x{size}x{channels}"
    assert [row["params_ratio"] for row in rows] == pytest.approx([1, 25 / 18, 1, 49 / 27, 1, 49 / 14])
    assert [row["macs_ratio"] for row in rows] == pytest.approx([1, 25 / 18, 1, 49 / 27, 1, 49 / 14])


@pytest.mark.parametrize("index, size, c_in, widths, min_ratio", [
    (6, 28, 192, (64, 96, 128, 16, 32, 32), 2.0),
    (8, 14, 528, (256, 160, 320, 32, 128, 128), 3.5),
])
def test_inception_reductions(measured, index, size, c_in, widths, min_ratio):
    f1, r3, f3, r5, f5, proj = widths
    naive_weights = c_in * f1 + 9 * c_in * f3 + 25 * c_in * f5
    reduced_weights = c_in * f1 + c_in * r3 + 9 * r3 * f3 + c_in * r5 + 25 * r5 * f5 + c_in * proj
    naive, reduced = measured[SETTINGS[0]][index:index + 2]
    assert naive["params"] == naive_weights + f1 + f3 + f5
    assert reduced["params"] == reduced_weights + f1 + r3 + f3 + r5 + f5 + proj
    assert naive["macs"] == naive_weights * size * size
    assert reduced["macs"] == reduced_weights * size * size
    assert naive["input"] == reduced["input"] == f"{size}x{size}x{c_in}"
    assert naive["output"] == f"{size}x{size}x{f1 + f3 + f5 + c_in}"  # the pooled input passes through
    assert reduced["output"] == f"{size}x{size}x{f1 + f3 + f5 + proj}"
    assert naive["receptive_field"] == reduced["receptive_field"] == "5x5"
    assert reduced["macs_ratio"] == pytest.approx(naive_weights / reduced_weights)
    assert reduced["macs_ratio"] > min_ratio and reduced["params_ratio"] > min_ratio


def test_resnet_bottleneck(measured):
    basic, bottleneck = measured[SETTINGS[0]][10:12]
    bottleneck_weights = 256 * 64 + 9 * 64 * 64 + 64 * 256
    basic_weights = 2 * 9 * 256 * 256
    assert bottleneck["params"] == bottleneck_weights + 2 * (64 + 64 + 256)  # gamma and beta
    assert basic["params"] == basic_weights + 2 * (256 + 256)
    assert bottleneck["macs"] == bottleneck_weights * 56 * 56
    assert basic["macs"] == basic_weights * 56 * 56
    assert basic["input"] == basic["output"] == bottleneck["input"] == bottleneck["output"] == "56x56x256"
    assert (basic["receptive_field"], bottleneck["receptive_field"]) == ("5x5", "3x3")
    assert bottleneck["macs_ratio"] == pytest.approx(basic_weights / bottleneck_weights)


def test_real_shapes_ignore_the_arguments(measured):
    default, small = measured[SETTINGS[0]], measured[SETTINGS[1]]
    assert default[6:] == small[6:]


def test_text_and_claims(measured):
    rows = measured[SETTINGS[0]]
    text = factorization.format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["comparison", "design"] and set(lines[1]) == {"-"}
    assert "1,180,672" in text and "3,699.38" in text  # basic block: parameters, MACs in M
    claims = factorization.claims(rows)
    assert len(claims) == 6 and all(line in lines for line in claims)
    assert "(18C² vs 25C², C=64)" in claims[0] and "same 5x5 receptive field" in claims[0]
    assert "(27C² vs 49C², C=64)" in claims[1] and "(14C² vs 49C², C=64)" in claims[2]
    assert "2.37x fewer" in claims[3] and "3.86x fewer" in claims[4]
    assert "receptive field 3x3 vs 5x5" in claims[5]


def test_markdown_and_csv(measured):
    rows = measured[SETTINGS[1]]
    markdown = factorization.format_table(rows, format="markdown").splitlines()
    assert markdown[0].startswith("| comparison | design |")
    assert re.fullmatch(r"\|(---:?\|){9}", markdown[1])
    assert sum(line.startswith("| ") for line in markdown[2:]) == len(rows)
    parsed = list(csv.DictReader(io.StringIO(factorization.format_table(rows, format="csv"))))
    assert len(parsed) == len(rows)
    for row, read in zip(rows, parsed):
        assert int(read["params"]) == row["params"] and int(read["macs"]) == row["macs"]
        assert float(read["params_ratio"]) == row["params_ratio"] and float(read["macs_ratio"]) == row["macs_ratio"]
        assert (read["comparison"], read["design"], read["receptive_field"]) == (
            row["comparison"], row["design"], row["receptive_field"])


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": 0}, "Received: channels=0"),
    ({"channels": 2.0}, "Received: channels=2.0"),
    ({"channels": True}, "Received: channels=True"),
    ({"size": 6}, "Received: size=6"),
    ({"size": -56}, "Received: size=-56"),
    ({"size": "56"}, "Received: size='56'"),
])
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=r"^Expected `(channels|size)` .*" + re.escape(message) + "$"):
        factorization.rows(**kwargs)


def test_format_error():
    expected = "Expected `format` to be one of ['text', 'markdown', 'csv']. Received: format='json'"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        factorization.format_table([], format="json")
