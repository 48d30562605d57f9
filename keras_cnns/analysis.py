"""A model's arithmetic, read from its TensorFlow graph: multiply-adds, layer table, receptive fields.

``count_macs(model)`` counts the forward multiply-adds; ``model_report(model)`` tabulates
every layer as the papers' tables do (shapes, kernel, stride, parameters, multiply-adds,
receptive field) with the totals, and ``format_report`` prints it as text, Markdown, CSV
or JSON (``python -m keras_cnns report NAME``).

Both trace the model once, for one image, and walk the graph's operations. Each
operation is attributed to the layer whose name scope created it, so the layer rows sum
exactly to the graph's total; receptive fields and depth are propagated along the
graph's edges, so branches and shortcuts are handled as they are computed.
"""

import csv
import dataclasses
import io
import json
import re

import numpy as np
import tensorflow as tf

_CONV_OPS = ("Conv2D", "DepthwiseConv2dNative")
_POOL_OPS = ("MaxPool", "MaxPoolV2", "AvgPool")
_MATMUL_OPS = ("MatMul", "BatchMatMulV2")
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")
FORMATS = ("text", "markdown", "csv", "json")


def _trace(model, input_shape=None):
    shape = tuple(input_shape or model.input_shape[1:])
    if None in shape:
        raise ValueError(f"The model needs a static input shape to be counted. Received: input_shape={shape}")
    function = tf.function(lambda x: model(x, training=False))
    return function.get_concrete_function(tf.TensorSpec((1, *shape), model.inputs[0].dtype)).graph


def _nested(op):
    """The graph of a function-call op (Keras runs grouped convolutions on the CPU as one)."""
    return op.graph._get_function(op.get_attr("f").name).graph


def _macs(op):
    """Multiply-adds of one op: convolutions (grouped and depthwise) and matrix products."""
    if op.type in _CALL_OPS:
        return sum(_macs(inner) for inner in _nested(op).get_operations())
    if op.type in _CONV_OPS:
        kernel = op.inputs[1].shape.as_list()
        # Conv2D kernels are (kh, kw, in / groups, out): each output sees kh*kw*in/groups.
        # Depthwise kernels are (kh, kw, in, multiplier): each output sees kh*kw.
        per_output = kernel[0] * kernel[1] * (kernel[2] if op.type == "Conv2D" else 1)
        return int(np.prod(op.outputs[0].shape.as_list())) * per_output
    if op.type in _MATMUL_OPS:
        a, out = op.inputs[0].shape.as_list(), op.outputs[0].shape.as_list()
        inner = a[-2] if op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x") else a[-1]
        return int(np.prod(out)) * inner
    return 0


def _windows(op):
    """The (kernel, stride, dilation) triples, each (h, w), an op slides over its input."""
    if op.type in _CALL_OPS:
        return [window for inner in _nested(op).get_operations() for window in _windows(inner)]
    if op.type in _CONV_OPS:
        kernel = op.inputs[1].shape.as_list()[:2]
        strides, dilations = op.get_attr("strides"), op.get_attr("dilations")
        return [(tuple(kernel), tuple(strides[1:3]), tuple(dilations[1:3]))]
    if op.type in _POOL_OPS:
        return [(tuple(op.get_attr("ksize")[1:3]), tuple(op.get_attr("strides")[1:3]), (1, 1))]
    return []


def _weighted(op):
    """Whether an op is a weight layer (a convolution or a matrix product): what depth counts."""
    return _macs(op) > 0


def count_macs(model, input_shape=None):
    """Forward multiply-adds of one image through ``model``.

    Counts the multiply-accumulates of convolutions (grouped and depthwise included) and
    matrix multiplications, the convention of the papers and of torchvision's "GFLOPS";
    batch norm, activations, pooling and bias additions are not counted.

    Args:
        model: a Keras model.
        input_shape: (height, width, channels) to count at; defaults to the model's own
            input shape, which must then be static.

    Returns:
        int, multiply-adds for a batch of one.

    Examples:

    >>> import keras_cnns
    >>> round(count_macs(keras_cnns.create_model("resnet50")) / 1e9, 3)
    3.858
    """
    return sum(_macs(op) for op in _trace(model, input_shape).get_operations())


# --- the layer table --------------------------------------------------------------------


@dataclasses.dataclass
class LayerRow:
    """One row of a report: a layer, or (``level`` > 0) a layer inside a block."""

    layer: str
    type: str
    input_shape: str
    kernel: str
    stride: str
    padding: str
    filters: str
    output_shape: str
    params: int
    macs: int
    receptive_field: str
    depth: int
    activation_bytes: int
    level: int = 0


@dataclasses.dataclass
class Report:
    """A model's layer table and totals (``model_report``).

    Attributes:
        model: the model's name.
        input_shape: (height, width, channels).
        rows: ``LayerRow``s in graph order.
        trainable_params, non_trainable_params: parameter totals.
        macs: forward multiply-adds of one image (= ``count_macs``).
        activation_bytes: the outputs of every layer, blocks' inner layers included, for
            one image at the compute dtype: roughly what training keeps for the backward pass.
        depth: weight layers (convolutions and dense layers) on the longest path from the
            input to the output, the papers' way of counting (VGG-16: 16, GoogLeNet: 22).
        receptive_field: the last spatial feature map's receptive field, in input pixels.
    """

    model: str
    input_shape: tuple
    rows: list
    trainable_params: int
    non_trainable_params: int
    macs: int
    activation_bytes: int
    depth: int
    receptive_field: str


def _children(layer):
    return list(layer._flatten_layers(include_self=False, recursive=False))


def _scope_paths(model, graph):
    """For each op, the path of layers (outermost first) whose name scopes created it."""
    top = model.name
    first = next((op.name.split("/")[0] for op in graph.get_operations() if "/" in op.name), top)
    suffix = first[len(top):] if first.startswith(top) else ""
    paths = {}
    for op in graph.get_operations():
        components = op.name.split("/")[:-1]
        if not components or not components[0].startswith(top):
            paths[op.name] = ()
            continue
        path, children = [], {child.name: child for child in _children(model)}
        for component in components[1:]:
            stripped = re.fullmatch(r"(.*)_\d+", component)
            for name in (component[: -len(suffix)] if suffix and component.endswith(suffix) else None,
                         component, stripped and stripped.group(1)):
                if name in children:
                    break
            else:
                break
            path.append(children[name])
            children = {child.name: child for child in _children(children[name])}
        paths[op.name] = tuple(path)
    return paths


def _propagate(graph):
    """Receptive field (h, w), jump (h, w) and depth of every tensor computed from the input."""
    state = {graph.inputs[0].name: ((1, 1), (1, 1), 0)}
    for op in graph.get_operations():
        known = [state[t.name] for t in op.inputs if t.name in state]
        if not known:
            continue
        rf = tuple(max(s[0][i] for s in known) for i in range(2))
        jump = tuple(max(s[1][i] for s in known) for i in range(2))
        depth = max(s[2] for s in known) + (1 if _weighted(op) else 0)
        for kernel, stride, dilation in _windows(op):
            rf = tuple(rf[i] + dilation[i] * (kernel[i] - 1) * jump[i] for i in range(2))
            jump = tuple(jump[i] * stride[i] for i in range(2))
        for t in op.outputs:
            if t.dtype.is_floating:
                state[t.name] = (rf, jump, depth)
    return state


def _shape(shape):
    return "x".join(str(d) for d in shape)


def _field(rf):
    return str(rf[0]) if rf[0] == rf[1] else f"{rf[0]}x{rf[1]}"


def _pair(value):
    if value is None or value == "":
        return ""
    if isinstance(value, (list, tuple)):
        value = [v for part in value for v in (part if isinstance(part, (list, tuple)) else [part])]
        return str(value[0]) if len(set(value)) == 1 else "x".join(str(v) for v in value)
    return str(value)


def _layer_settings(layer):
    config = layer.get_config()
    kernel = config.get("kernel_size", config.get("pool_size"))
    filters = config.get("filters", config.get("units"))
    if filters is None and "depth_multiplier" in config:
        filters = f"x{config['depth_multiplier']}"
    return _pair(kernel), _pair(config.get("strides")), _pair(config.get("padding")), _pair(filters)


class _Graph:
    """The traced graph, its ops grouped by the layer that created them."""

    def __init__(self, model, input_shape):
        self.graph = _trace(model, input_shape)
        self.ops = self.graph.get_operations()
        self.order = {op.name: i for i, op in enumerate(self.ops)}
        self.paths = _scope_paths(model, self.graph)
        self.state = _propagate(self.graph)
        self._groups = {}  # layer path -> the ops created inside it, in graph order
        for op in self.ops:
            path = self.paths[op.name]
            for n in range(1, len(path) + 1):
                self._groups.setdefault(tuple(id(layer) for layer in path[:n]), []).append(op)

    def ops_of(self, path):
        return self._groups.get(tuple(id(layer) for layer in path), [])

    def output(self, ops):
        """The last activation an op group produces (the layer's output)."""
        for op in reversed(ops):
            for t in op.outputs:
                if t.name in self.state:
                    return t
        return None

    def inputs(self, ops):
        """The activations an op group reads from outside itself (the layer's inputs)."""
        inside, found = {op.name for op in ops}, []
        for op in ops:
            for t in op.inputs:
                if t.op.name not in inside and t.name in self.state and t not in found:
                    found.append(t)
        return found

    def row(self, path, level, fallback=None):
        """A report row for the layer at ``path``; ``fallback``: its Keras (inputs, output)
        shapes, for a layer that adds no op to the graph (dropout at inference)."""
        layer, ops = path[-1], self.ops_of(path)
        out, sources = self.output(ops), self.inputs(ops)
        if out is not None:
            rf, _, depth = self.state[out.name]
            rf = rf if out.shape.rank == 4 else None  # a flat output sees the whole input
            input_shapes = [t.shape.as_list()[1:] for t in sources]
            output_shape, itemsize = out.shape.as_list()[1:], out.dtype.size
        else:
            rf, depth, itemsize = None, 0, 4
            input_shapes, output_shape = fallback or ([], [])
        kernel, stride, padding, filters = _layer_settings(layer)
        return LayerRow(
            layer="/".join(part.name for part in path[-level - 1:]) if level else layer.name,
            type=type(layer).__name__,
            input_shape=" + ".join(_shape(s) for s in input_shapes),
            kernel=kernel,
            stride=stride,
            padding=padding,
            filters=filters,
            output_shape=_shape(output_shape),
            params=int(layer.count_params()) if layer.built else 0,
            macs=sum(_macs(op) for op in ops),
            receptive_field=_field(rf) if rf else "",
            depth=depth,
            activation_bytes=int(np.prod(output_shape)) * itemsize,
            level=level,
        )

    def activation_bytes(self):
        """Bytes of the outputs of every leaf layer (one without sublayers) for one image."""
        leaves = {}
        for op in self.ops:
            path = self.paths[op.name]
            if path and not _children(path[-1]):
                leaves.setdefault(path, []).append(op)
        outputs = {out.name: out for out in map(self.output, leaves.values()) if out is not None}
        return sum(int(np.prod(t.shape.as_list())) * t.dtype.size for t in outputs.values())


def model_report(model, input_shape=None, expand=0):
    """The layer table of ``model`` and its totals.

    Args:
        model: a Keras model, or a registered name (built at its default input).
        input_shape: (height, width, channels) to report at; defaults to the model's own
            input shape, which must then be static.
        expand: how many levels of blocks to open: 0 lists the model's own layers, 1 adds
            under each block its layers (an inception module's branches), and so on.

    Returns:
        A ``Report``.

    Examples:

    >>> import keras_cnns
    >>> report = model_report(keras_cnns.create_model("alexnet"))
    >>> [row.output_shape for row in report.rows if row.layer.startswith("pool")]
    ['27x27x96', '13x13x256', '6x6x256']
    >>> report.depth, report.receptive_field
    (8, '195')
    """
    if isinstance(model, str):
        from keras_cnns.models.registry import create_model

        model = create_model(model)
    if isinstance(expand, bool) or not isinstance(expand, int) or expand < 0:
        raise ValueError(f"`expand` must be a non-negative integer. Received: expand={expand!r}")
    traced = _Graph(model, input_shape)
    rows = []

    def add(path, level):
        if level and not traced.ops_of(path):
            return
        fallback = None
        if level == 0 and input_shape is None:
            inputs = path[0].input if isinstance(path[0].input, (list, tuple)) else [path[0].input]
            fallback = ([tuple(t.shape[1:]) for t in inputs], tuple(path[0].output.shape[1:]))
        rows.append(traced.row(path, level, fallback))
        if level < expand:
            children = [path + (child,) for child in _children(path[-1])]
            first = {c: min((traced.order[op.name] for op in traced.ops_of(c)), default=len(traced.ops)) for c in children}
            for child in sorted(children, key=first.get):
                add(child, level + 1)

    for layer in model.layers:
        if type(layer).__name__ != "InputLayer":
            add((layer,), 0)
    spatial = [rf for name, (rf, _, _) in traced.state.items() if traced.graph.get_tensor_by_name(name).shape.rank == 4]
    return Report(
        model=model.name,
        input_shape=tuple(input_shape or model.input_shape[1:]),
        rows=rows,
        trainable_params=sum(int(np.prod(w.shape)) for w in model.trainable_weights),
        non_trainable_params=sum(int(np.prod(w.shape)) for w in model.non_trainable_weights),
        macs=sum(_macs(op) for op in traced.ops),
        activation_bytes=traced.activation_bytes(),
        depth=max(depth for _, _, depth in traced.state.values()),
        receptive_field=_field(max(spatial, key=lambda rf: rf[0] * rf[1])) if spatial else "",
    )


_COLUMNS = ("layer", "type", "input_shape", "kernel", "stride", "padding", "filters", "output_shape",
            "params", "macs", "receptive_field", "depth", "activation_bytes")
_HEADINGS = ("layer", "type", "input", "kernel", "stride", "pad", "filters", "output", "params", "MACs", "RF")


def _cells(row):
    indent = "  " * row.level
    return [indent + row.layer, row.type, row.input_shape, row.kernel, row.stride, row.padding, row.filters,
            row.output_shape, f"{row.params:,}", f"{row.macs:,}", row.receptive_field]


def _totals(report):
    total = report.trainable_params + report.non_trainable_params
    return [
        f"Input: {_shape(report.input_shape)}",
        f"Parameters: {total:,} ({report.trainable_params:,} trainable, {report.non_trainable_params:,} non-trainable)",
        f"Multiply-adds: {report.macs:,} ({report.macs / 1e9:.4g} G)",
        f"Activation memory, one image: {report.activation_bytes / 2**20:.1f} MiB (the outputs of every layer)",
        f"Depth: {report.depth} weight layers on the longest path; receptive field {report.receptive_field} pixels",
    ]


def format_report(report, format="text"):
    """``report`` as text (an aligned table), Markdown, CSV (a row a layer, then a "total"
    row) or JSON (rows and totals), the formats of ``python -m keras_cnns report``."""
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    if format == "json":
        totals = {key: value for key, value in dataclasses.asdict(report).items() if key != "rows"}
        return json.dumps({**totals, "layers": [dataclasses.asdict(row) for row in report.rows]}, indent=1)
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COLUMNS + ("level",))
        for row in report.rows:
            writer.writerow([getattr(row, column) for column in _COLUMNS + ("level",)])
        writer.writerow(["total", "", _shape(report.input_shape), "", "", "", "", "",
                         report.trainable_params + report.non_trainable_params, report.macs,
                         report.receptive_field, report.depth, report.activation_bytes, ""])
        return out.getvalue().rstrip("\n")
    table = [list(_HEADINGS)] + [_cells(row) for row in report.rows]
    numeric = {8, 9}
    if format == "markdown":
        lines = [f"### {report.model}", "", "| " + " | ".join(table[0]) + " |",
                 "|" + "|".join("---:" if i in numeric else "---" for i in range(len(_HEADINGS))) + "|"]
        lines += ["| " + " | ".join(c.replace("  ", "&nbsp;&nbsp;") if i == 0 else c for i, c in enumerate(cells)) + " |"
                  for cells in table[1:]]
        return "\n".join(lines + [""] + [f"- {line}" for line in _totals(report)])
    widths = [max(len(cells[i]) for cells in table) for i in range(len(_HEADINGS))]
    lines = ["  ".join(c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()
             for cells in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join([f"Model: {report.model}", ""] + lines + [""] + _totals(report))
