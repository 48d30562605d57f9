"""Diagrams of a model or of one block: ``python -m keras_cnns diagram NAME --out FILE.png``.

A model is drawn by ``keras.utils.model_to_dot`` (its layers, with shapes). Keras cannot
look inside a subclassed layer, so a block (``--block inception_3a``) is drawn from the
traced graph instead: one node per layer of the block, with its kernel, stride, filters
and output shape, and one per operation that joins them (concatenation, addition),
connected as the activations flow.

Drawing needs pydot (``pip install "keras-cnns[diagram]"``) and, for images, Graphviz's
``dot`` program (``apt-get install graphviz``, ``brew install graphviz`` or
``conda install graphviz``); a ``.dot`` file needs pydot only.
"""

import os
import shutil

INSTALL = (
    'pip install "keras-cnns[diagram]" (pydot) and install Graphviz, whose dot program draws the image: '
    "apt-get install graphviz, brew install graphviz or conda install graphviz"
)
#: Operations that join a block's layers and get a node of their own.
_JOINS = {"ConcatV2": "concatenate", "AddV2": "add", "Add": "add", "Mul": "multiply", "Relu": "relu"}


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError(f"Drawing a diagram needs pydot. To install it: {INSTALL}.") from None
    return pydot


def _label(row):
    kernel = f"{row.kernel}x{row.kernel}" if row.kernel.isdigit() else row.kernel
    settings = " ".join(p for p in (kernel, row.stride and f"/{row.stride}", row.filters and f"{row.filters} filters") if p)
    return "\n".join(p for p in (row.layer, row.type, settings, f"out {row.output_shape}") if p)


def block_to_dot(model, block):
    """A pydot graph of the layer ``block`` of ``model``: its layers and joins, in flow order."""
    from keras_cnns import analysis

    pydot = _pydot()
    names = [layer.name for layer in model.layers]
    if block not in names:
        raise ValueError(f"{model.name} has no layer named {block!r}. Layers: {', '.join(names)}. Received: block={block!r}")
    traced = analysis._Graph(model, None)
    layer = model.get_layer(block)
    path = (layer,)
    ops = traced.ops_of(path)
    groups = {}  # node id -> (label, ops)
    owner = {}  # tensor name -> node id
    for child in analysis._children(layer):
        child_ops = traced.ops_of(path + (child,))
        if child_ops:
            row = traced.row(path + (child,), 1)
            row.layer = child.name
            groups[child.name] = (_label(row), child_ops)
    for op in ops:
        if len(traced.paths[op.name]) == 1 and op.type in _JOINS and op.outputs[0].name in traced.state:
            out = op.outputs[0].shape.as_list()[1:]
            groups[op.name] = (f"{_JOINS[op.type]}\nout {'x'.join(map(str, out))}", [op])
    for node, (_, node_ops) in groups.items():
        for op in node_ops:
            for t in op.outputs:
                owner[t.name] = node
    dot = pydot.Dot(graph_type="digraph", rankdir="TB", label=f"{model.name}: {block} ({type(layer).__name__})")
    dot.set_node_defaults(shape="box", fontname="Helvetica", fontsize="10")
    source = traced.inputs(ops)
    dot.add_node(pydot.Node("input", label="input\n" + " + ".join("x".join(map(str, t.shape.as_list()[1:])) for t in source)))
    for node, (label, _) in groups.items():
        dot.add_node(pydot.Node(node, label=label))
    outside = {t.name for t in source}
    for node, (_, node_ops) in groups.items():
        mine = {op.name for op in node_ops}
        feeds = set()
        for op in node_ops:
            for t in op.inputs:
                if t.op.name in mine or t.name not in traced.state:
                    continue
                feeds.add("input" if t.name in outside else _producer(t, owner, traced))
        for feed in sorted(f for f in feeds if f):
            dot.add_edge(pydot.Edge(feed, node))
    return dot


def _producer(tensor, owner, traced):
    """The node whose ops computed ``tensor``, following pass-through ops back to one."""
    seen = set()
    while tensor.name not in owner:
        if tensor.name in seen or not tensor.op.inputs:
            return None
        seen.add(tensor.name)
        activations = [t for t in tensor.op.inputs if t.name in traced.state]
        if not activations:
            return None
        tensor = activations[0]
    return owner[tensor.name]


def draw(model, out, block=None, expand=False):
    """Draws ``model`` (or its layer ``block``) to ``out``: an image (.png, .svg, .pdf) or DOT
    source (.dot). Returns ``out``."""
    _pydot()
    extension = os.path.splitext(out)[1][1:].lower() or "png"
    if extension != "dot" and not shutil.which("dot"):
        raise ImportError(
            f"Drawing {out} needs Graphviz's dot program, which is not on the PATH. To install it: {INSTALL}. "
            f"(A .dot file needs pydot only.) Received: out={out!r}"
        )
    if block:
        dot = block_to_dot(model, block)
    else:
        import keras

        dot = keras.utils.model_to_dot(model, show_shapes=True, show_layer_names=True, expand_nested=expand)
    dot.set("dpi", "96")
    if extension == "dot":
        dot.write_raw(out)
    else:
        dot.write(out, format=extension)
    return out
