"""The arithmetic of the classic designs, measured on layers the package builds.

``rows()`` measures, for each comparison, a baseline and the factorized or reduced design
that replaced it: their parameters, multiply-adds and receptive fields; ``format_table``
prints them with one verdict line per comparison (``claims``). Every number is read from built
Keras models: parameters from the trainable weights, multiply-adds from
``keras_cnns.count_macs`` (the traced graph's convolutions), and the receptive field from
an impulse response: with every kernel set to ones and the biases, batch-norm shifts and
moving means at zero, a single 1 at the centre of a zero input lights up exactly the
output pixels that see it, and the height and width of that region is the field (for
these stride-1, size-preserving blocks, as long as the map holds it). No formula is used.

The comparisons, baseline first:

1. One 5x5 convolution vs two 3x3 (Simonyan & Zisserman 2014, section 2.3; Szegedy et al.
   2015, "Rethinking the Inception Architecture", section 3.1): at C channels in and out,
   without bias, 25C^2 vs 18C^2 weights (0.72x) for the same 5x5 field.
2. One 7x7 vs three 3x3 (VGG, section 2.3): 49C^2 vs 27C^2, the same 7x7 field.
3. One 7x7 vs 1x7 then 7x1 (Inception-v3, section 3.2, asymmetric factorization):
   49C^2 vs 14C^2, the same 7x7 field. Rows 1-3 are bias-free, linear, stride-1 "same"
   convolutions at ``channels`` and ``size``, so their multiply-adds are weights x H x W.
4. GoogLeNet's Inception module without and with its 1x1 reductions (Szegedy et al. 2014,
   section 4, Figure 2) at the shapes of modules 3a (28x28x192) and 4e (14x14x528): the
   naive module (Figure 2a: 1x1, 3x3 and 5x5 convolutions with bias and ReLU directly on
   the input, and the 3x3/1 max-pooled input passed through, concatenated) against the
   package's ``InceptionModule`` (Figure 2b). The naive module also outputs more channels:
   its pooling branch keeps all of the input's.
5. ResNet's basic block vs its bottleneck at 256 channels on a 56x56 map (He et al. 2015,
   section 4.1, Figure 5): ``BasicBlock(256)`` (two 3x3 at 256) against
   ``BottleneckBlock(64)`` (1x1 to 64, 3x3 at 64, 1x1 to 256), both with batch norm and
   identity shortcuts. Their parameters include batch norm's gamma and beta (trainable
   weights), not its moving statistics. (Figure 5 itself sets a 64-d basic block beside
   the 256-d bottleneck, "similar time complexity"; here both keep 256 channels.)
"""

import csv
import functools
import io

import keras
import numpy as np
from keras import ops

from keras_cnns.analysis import count_macs
from keras_cnns.layers import BasicBlock, BottleneckBlock, InceptionModule
from keras_cnns.layers._base import call_chain
from keras_cnns.layers.pooling import PaddedMaxPool2D

FORMATS = ("text", "markdown", "csv")
#: The keys of each row, in order (``format_table``'s CSV columns).
COLUMNS = ("comparison", "design", "input", "output", "params", "macs", "receptive_field", "params_ratio",
           "macs_ratio")
#: GoogLeNet's Table 1: the input of modules 3a and 4e and their six widths.
INCEPTION_MODULES = {
    "3a": ((28, 28, 192), (64, 96, 128, 16, 32, 32)),
    "4e": ((14, 14, 528), (256, 160, 320, 32, 128, 128)),
}
_RESNET_INPUT = (56, 56, 256)


def _chain(*layers):
    """``inputs -> outputs`` through ``layers`` in order."""
    return functools.partial(call_chain, layers)


def _convs(channels, *kernels):
    """Stride-1 "same" convolutions at ``channels``, bias-free and linear."""
    return _chain(*(keras.layers.Conv2D(channels, k, padding="same", use_bias=False, kernel_initializer="ones")
                    for k in kernels))


def _naive_inception(filters_1x1, filters_3x3, filters_5x5):
    """GoogLeNet's Figure 2a: 1x1, 3x3 and 5x5 convolutions (bias, ReLU) and 3x3/1 max pooling, concatenated."""

    def build(x):
        convs = [keras.layers.Conv2D(f, k, padding="same", activation="relu", kernel_initializer="ones")(x)
                 for f, k in ((filters_1x1, 1), (filters_3x3, 3), (filters_5x5, 5))]
        return keras.layers.Concatenate()([*convs, PaddedMaxPool2D(3, 1, padding=1)(x)])

    return build


def _shape(shape):
    return "x".join(str(d) for d in shape)


def _receptive_field(model):
    """The extent (height x width) of the output that a 1 at the centre of a zero input reaches."""
    height, width, channels = model.input_shape[1:]
    impulse = np.zeros((1, height, width, channels), "float32")
    impulse[0, height // 2, width // 2, :] = 1.0
    response = ops.convert_to_numpy(ops.max(ops.abs(model(impulse, training=False)), axis=-1))[0]
    ys, xs = np.flatnonzero(response.any(axis=1)), np.flatnonzero(response.any(axis=0))
    return f"{ys[-1] - ys[0] + 1}x{xs[-1] - xs[0] + 1}"


def _measure(comparison, design, shape, build):
    """One row: ``build`` (inputs -> outputs) made into a model at ``shape`` and measured."""
    inputs = keras.Input(shape)
    model = keras.Model(inputs, build(inputs))
    for weight in model.trainable_weights:  # the package's layers draw He-normal kernels: make them ones
        if weight.name == "kernel":
            weight.assign(ops.ones(weight.shape))
    return {
        "comparison": comparison,
        "design": design,
        "input": _shape(shape),
        "output": _shape(model.output_shape[1:]),
        "params": sum(int(np.prod(weight.shape)) for weight in model.trainable_weights),
        "macs": count_macs(model),
        "receptive_field": _receptive_field(model),
    }


def rows(channels=64, size=56):
    """Measures every comparison's baseline and designs.

    Args:
        channels: int, C, the channels in and out of the convolutions of comparisons 1-3.
            Defaults to 64.
        size: int, the height and width of their map, at least 7 (the 7x7 field must fit).
            Defaults to 56. The Inception and ResNet comparisons use their real shapes.

    Returns:
        A list of dicts, one per design, each comparison's baseline first, with keys
        ``COLUMNS``: "comparison" and "design" (names), "input" and "output" (HxWxC),
        "params" (trainable weights), "macs" (multiply-adds for one image, ``count_macs``),
        "receptive_field" ("HxW", from the impulse response), and "params_ratio" and
        "macs_ratio" (the baseline's count over this design's: 1.0 for the baseline, above 1
        when the design is cheaper).
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"Expected `channels` to be a positive int. Received: channels={channels!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 7:
        raise ValueError(f"Expected `size` to be an int of at least 7 (a 7x7 field). Received: size={size!r}")
    shape = (size, size, channels)
    plan = [
        ("5x5 vs two 3x3", [("one 5x5", shape, _convs(channels, 5)), ("two 3x3", shape, _convs(channels, 3, 3))]),
        ("7x7 vs three 3x3", [("one 7x7", shape, _convs(channels, 7)),
                              ("three 3x3", shape, _convs(channels, 3, 3, 3))]),
        ("7x7 vs 1x7 + 7x1", [("one 7x7", shape, _convs(channels, 7)),
                              ("1x7 then 7x1", shape, _convs(channels, (1, 7), (7, 1)))]),
    ]
    for name, (inception_shape, widths) in INCEPTION_MODULES.items():
        plan.append((f"inception {name} reductions", [
            ("naive (Fig. 2a)", inception_shape, _naive_inception(widths[0], widths[2], widths[4])),
            ("InceptionModule (Fig. 2b)", inception_shape, _chain(InceptionModule(*widths))),
        ]))
    plan.append(("resnet bottleneck, 256-d", [
        ("BasicBlock(256), two 3x3", _RESNET_INPUT, _chain(BasicBlock(256))),
        ("BottleneckBlock(64), 1x1-3x3-1x1", _RESNET_INPUT, _chain(BottleneckBlock(64))),
    ]))
    table = []
    for comparison, designs in plan:
        measured = [_measure(comparison, *design) for design in designs]
        for row in measured:
            row["params_ratio"] = measured[0]["params"] / row["params"]
            row["macs_ratio"] = measured[0]["macs"] / row["macs"]
        table += measured
    return table


def _per_c2(row, baseline):
    """ "kC^2" for the weights of a square convolution stack (input channels = output channels = C)."""
    channels = int(row["input"].split("x")[-1])
    if row["output"] != row["input"] or any(r["params"] % channels**2 for r in (row, baseline)):
        return ""
    return f" ({row['params'] // channels**2}C² vs {baseline['params'] // channels**2}C², C={channels})"


def claims(rows):
    """One verdict line per comparison, computed from ``rows`` (the output of ``rows()``)."""
    lines, baseline = [], None
    for row in rows:
        if baseline is None or row["comparison"] != baseline["comparison"]:
            baseline = row
            continue
        field, base_field = row["receptive_field"], baseline["receptive_field"]
        field = f"same {field} receptive field" if field == base_field else f"receptive field {field} vs {base_field}"
        ratio = row["macs_ratio"]
        fewer = f"{ratio:.2f}x fewer" if ratio >= 1 else f"{1 / ratio:.2f}x more"
        lines.append(
            f"{row['comparison']}: {row['design']} has {1 / row['params_ratio']:.2f}x the parameters"
            f"{_per_c2(row, baseline)} and {1 / ratio:.2f}x the multiply-adds ({fewer}) of {baseline['design']}; "
            f"{field}"
        )
    return lines


def _cells(table):
    cells, previous = [], None
    for row in table:
        first = row["comparison"] != previous
        previous = row["comparison"]
        cells.append([row["comparison"] if first else "", row["design"], row["input"], row["output"],
                      f"{row['params']:,}", f"{row['macs'] / 1e6:,.2f}", row["receptive_field"],
                      f"{row['params_ratio']:.2f}x", f"{row['macs_ratio']:.2f}x"])
    return cells


def format_table(rows, format="text"):
    """``rows`` as text (an aligned table, then the verdicts), Markdown (a table, then the
    verdicts as a list) or CSV (the ``COLUMNS``, exact numbers).

    Args:
        rows: the output of ``rows()``.
        format: ``"text"``, ``"markdown"`` or ``"csv"``. Defaults to ``"text"``.

    Returns:
        str.
    """
    if format not in FORMATS:
        raise ValueError(f"Expected `format` to be one of {list(FORMATS)}. Received: format={format!r}")
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: row[key] for key in COLUMNS} for row in rows)
        return out.getvalue().rstrip("\n")
    headings = ["comparison", "design", "input", "output", "params", "MACs (M)", "RF", "params ratio", "MACs ratio"]
    numeric = {4, 5, 7, 8}
    table = [headings] + _cells(rows)
    if format == "markdown":
        lines = ["| " + " | ".join(headings) + " |",
                 "|" + "|".join("---:" if i in numeric else "---" for i in range(len(headings))) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in table[1:]]
        return "\n".join(lines + [""] + [f"- {line}" for line in claims(rows)])
    widths = [max(len(cells[i]) for cells in table) for i in range(len(headings))]
    lines = ["  ".join(cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                       for i, cell in enumerate(cells)).rstrip() for cells in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines + [""] + claims(rows))
