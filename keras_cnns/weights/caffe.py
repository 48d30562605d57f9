"""The Caffe format: ``.caffemodel`` files of the Caffe Model Zoo, read without Caffe.

A variant that computes exactly what a Caffe model computes declares ``CaffeWeights``:
the file, its URL and checksum as its Model Zoo entry publishes them, a ``rule`` from
the Caffe layer names to our layer paths, and the builder options that make our
variant the Caffe network (Caffe's LRN constants, its ceil-mode pooling). Then

- ``create_model(name, weights=tag)`` fetches the file into Keras' cache
  (``$KERAS_HOME/models``, by default ``~/.keras/models``) and converts it; offline
  with no cached file it fails at once, naming the file, the URL and the folder;
- ``weights="/path/to/file.caffemodel"`` converts a local file;
- ``convert_file`` (``keras_cnns.from_caffemodel``) converts a file of any class count.

A ``.caffemodel`` is a serialized ``caffe.NetParameter`` protocol buffer. Its schema is
built here at run time, in a private descriptor pool (``messages``), with the field
numbers of BVLC's ``src/caffe/proto/caffe.proto`` and only the fields the conversion
reads: no Caffe and no generated ``_pb2`` module. Both the current format (``layer``,
string types, blobs with a ``shape``) and the legacy V1 format of the 2014 Model Zoo
files (``layers``, enum types, 4-d ``num``/``channels``/``height``/``width`` blobs) are
read. A blob's packed floats are read as the raw little-endian bytes they are on the
wire (the same encoding), so a 240 MB file converts without a Python float per weight.

Conventions are matched, not approximated: Caffe's ``(out, in / groups, kh, kw)``
kernels become Keras' ``(kh, kw, in / groups, out)``, inner products ``(out, in)``
become ``(in, out)``; every blob is reshaped by its element count to the shape the
layer needs (the V1 files store an inner product as ``1 x 1 x out x in``, a bias as
``1 x 1 x 1 x out``), and a count that does not fit raises. A Dense layer that sees a
flattened feature map (a flattening head's first layer, an auxiliary classifier's) gets its input
rows reordered from Caffe's ``(C, H, W)`` flattening to Keras' ``(H, W, C)``. Every
keras_cnns layer with weights receives them exactly once and every Caffe layer with
blobs maps to a layer (or is skipped by its rule), else nothing is copied and the
error names the first Caffe layer that does not fit.
"""

import dataclasses
import functools
import os
from typing import Callable

import keras
import numpy as np

from keras_cnns.weights.base import HEAD_LAYERS, SKIP, Weights, flattened_maps, weighted_layers
from keras_cnns.weights.fetch import fetch as fetch_file
from keras_cnns.weights.fetch import KERAS_CACHE, keras_cache_dir
from keras_cnns.weights.preprocessing import Preprocessing

#: BVLC's per-channel ILSVRC-2012 mean, in Caffe's BGR order: the mean over the pixels
#: of ``python/caffe/imagenet/ilsvrc_2012_mean.npy``, as Caffe's classifier example
#: takes it (``mean.mean(1).mean(1)``); the Model Zoo's ``mean_file`` models subtract
#: that image.
ILSVRC_2012_MEAN = (104.00698793, 116.66876762, 122.67891434)

#: The V1 (2014) layer types the schema names; other values are kept as numbers.
V1_TYPES = dict(
    NONE=0, ACCURACY=1, CONCAT=3, CONVOLUTION=4, DATA=5, DROPOUT=6, FLATTEN=8, INNER_PRODUCT=14, LRN=15,
    POOLING=17, RELU=18, SOFTMAX=20, SOFTMAX_LOSS=21, SPLIT=22,
)


def preprocessing(crop, resize=256, mean=ILSVRC_2012_MEAN):
    """Caffe's evaluation: BGR pixels in 0-255 minus the per-channel ``mean`` (BGR order,
    the model input's), no scaling, center crop ``crop`` of the shorter side resized to
    ``resize``."""
    return Preprocessing(mean=tuple(mean), std=(1.0, 1.0, 1.0), channel_order="BGR", crop_pct=crop / resize)


@functools.cache
def messages():
    """The run-time Caffe message classes, by name: ``NetParameter``, ``LayerParameter``
    (V2), ``V1LayerParameter``, ``BlobProto``, ``BlobShape``.

    Field numbers are those of BVLC's ``caffe.proto``; a blob's ``data`` (packed float)
    and ``double_data`` (packed double) are declared as repeated ``bytes``, the same
    bytes on the wire, so they read as raw little-endian arrays: write
    ``array.astype("<f4").tobytes()`` to them.

    >>> BlobProto = messages()["BlobProto"]
    >>> blob = BlobProto(num=1, channels=1, height=1, width=2)  # V1's 4-d shape
    >>> blob.data.append(np.array([1.5, -2.0], "<f4").tobytes())
    >>> blob_array(BlobProto.FromString(blob.SerializeToString()))
    array([[[[ 1.5, -2. ]]]], dtype=float32)
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    optional, repeated = F.LABEL_OPTIONAL, F.LABEL_REPEATED

    def message(name, *fields, enums=()):
        proto = descriptor_pb2.DescriptorProto(name=name)
        for field_name, number, kind, label, *type_name in fields:
            field = proto.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name[0]
            if kind == F.TYPE_INT64 and label == repeated:
                field.options.packed = True
        for enum_name, values in enums:
            enum = proto.enum_type.add(name=enum_name)
            for value_name, number in values.items():
                enum.value.add(name=value_name, number=number)
        return proto

    blob = (".caffe.BlobProto",)
    schema = descriptor_pb2.FileDescriptorProto(name="keras_cnns_caffe.proto", package="caffe", syntax="proto2")
    schema.message_type.extend([
        message("BlobShape", ("dim", 1, F.TYPE_INT64, repeated)),
        message(
            "BlobProto",
            ("num", 1, F.TYPE_INT32, optional), ("channels", 2, F.TYPE_INT32, optional),
            ("height", 3, F.TYPE_INT32, optional), ("width", 4, F.TYPE_INT32, optional),
            ("data", 5, F.TYPE_BYTES, repeated), ("shape", 7, F.TYPE_MESSAGE, optional, ".caffe.BlobShape"),
            ("double_data", 8, F.TYPE_BYTES, repeated),
        ),
        message(
            "LayerParameter",
            ("name", 1, F.TYPE_STRING, optional), ("type", 2, F.TYPE_STRING, optional),
            ("bottom", 3, F.TYPE_STRING, repeated), ("top", 4, F.TYPE_STRING, repeated),
            ("blobs", 7, F.TYPE_MESSAGE, repeated, *blob),
        ),
        message(
            "V1LayerParameter",
            ("bottom", 2, F.TYPE_STRING, repeated), ("top", 3, F.TYPE_STRING, repeated),
            ("name", 4, F.TYPE_STRING, optional),
            ("type", 5, F.TYPE_ENUM, optional, ".caffe.V1LayerParameter.LayerType"),
            ("blobs", 6, F.TYPE_MESSAGE, repeated, *blob),
            enums=[("LayerType", V1_TYPES)],
        ),
        message(
            "NetParameter",
            ("name", 1, F.TYPE_STRING, optional),
            ("layers", 2, F.TYPE_MESSAGE, repeated, ".caffe.V1LayerParameter"),
            ("input", 3, F.TYPE_STRING, repeated), ("input_dim", 4, F.TYPE_INT32, repeated),
            ("input_shape", 8, F.TYPE_MESSAGE, repeated, ".caffe.BlobShape"),
            ("layer", 100, F.TYPE_MESSAGE, repeated, ".caffe.LayerParameter"),
        ),
    ])
    pool = descriptor_pool.DescriptorPool()  # private: never clashes with a real caffe_pb2
    pool.Add(schema)
    names = ("NetParameter", "LayerParameter", "V1LayerParameter", "BlobProto", "BlobShape")
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"caffe.{name}")) for name in names}


def blob_shape(blob):
    """A blob's shape: its ``shape`` dims, else the legacy ``(num, channels, height,
    width)``."""
    if blob.HasField("shape"):
        return tuple(int(d) for d in blob.shape.dim)
    return (blob.num, blob.channels, blob.height, blob.width)


def _unpacked_floats(blob):
    """Floats written unpacked (one fixed32 per value: legal protobuf, rare in Caffe
    files), which the ``bytes`` view of ``data`` leaves among the unknown fields."""
    from google.protobuf import unknown_fields

    fixed32 = [f.data for f in unknown_fields.UnknownFieldSet(blob) if f.field_number == 5 and f.wire_type == 5]
    return np.array(fixed32, dtype="<u4").view("<f4")


def blob_array(blob):
    """A blob as a float32 array of its declared shape (``blob_shape``)."""
    if blob.data:
        values = np.frombuffer(b"".join(blob.data), dtype="<f4")
    elif blob.double_data:
        values = np.frombuffer(b"".join(blob.double_data), dtype="<f8").astype("float32")
    else:
        values = _unpacked_floats(blob)
    shape = blob_shape(blob)
    if int(np.prod(shape)) != values.size:
        return values  # a shape that disagrees with the data: the count decides (``_fit``)
    return values.reshape(shape)


def parse(data):
    """``{Caffe layer name: (type, [blob arrays])}`` of the layers with blobs of a
    serialized ``NetParameter`` (V2 ``layer`` or V1 ``layers``), in file order."""
    net = messages()["NetParameter"].FromString(data)
    layers = {}
    for layer in [*net.layer, *net.layers]:
        if not layer.blobs:
            continue
        if layer.name in layers:
            raise ValueError(f"A Caffe net holds blobs under one name twice. Received: layer name {layer.name!r}")
        layers[layer.name] = (_type(layer), [blob_array(blob) for blob in layer.blobs])
    return layers


def _type(layer):
    """A layer's type: V2's string, V1's enum name."""
    if isinstance(layer.type, str):
        return layer.type
    value = layer.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_number.get(layer.type)
    return value.name if value is not None else str(layer.type)


def read_caffemodel(path):
    """The layers with blobs of a ``.caffemodel`` file (``parse``)."""
    from google.protobuf.message import DecodeError

    with open(path, "rb") as f:
        data = f.read()
    try:
        return parse(data)
    except DecodeError as e:
        raise ValueError(f"Expected a Caffe model (NetParameter) file ({e}). Received: path={os.fspath(path)!r}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaffeWeights(Weights):
    """A Caffe Model Zoo ``.caffemodel`` for a variant that computes its network.

    Attributes:
        file: the file's name (``"<model>.caffemodel"``), in Keras' cache too.
        url: where its Model Zoo entry publishes it.
        checksum: ``"sha1:<hex>"`` as the entry publishes it, or None where it
            publishes none that fits the file.
        rule: Caffe layer name -> our layer path, None for an unknown name, or
            ``SKIP`` for a layer with no counterpart.
        classifier: the Caffe layer name of the main classifier (its bias gives the
            classes of a file).
        optional: the top-level layers of ours that a model may be built without (the
            head and predictions with ``include_top=False``, auxiliary classifiers): Caffe layers
            mapped into them are skipped when the model lacks them.
        source: the Model Zoo entry the file and its figures come from.
    """

    file: str
    url: str
    checksum: str = None
    rule: Callable = dataclasses.field(default=None, repr=False, compare=False)
    classifier: str
    optional: tuple = HEAD_LAYERS
    source: str = ""
    tag: str = "bvlc"

    FORMAT = "Caffe"

    @property
    def label(self):
        return f"Caffe {self.file.removesuffix('.caffemodel')}"

    @classmethod
    def claims(cls, path):
        return os.fspath(path).endswith(".caffemodel")

    def fetch(self, info, kwargs):
        path = fetch_file(
            self.url, keras_cache_dir(), file=self.file, checksum=self.checksum, what="the Caffe weights",
            cache=f"{KERAS_CACHE}; or pass weights='/path/to/{self.file}'",
        )
        return read_caffemodel(path)

    def read(self, path, info, kwargs):
        return read_caffemodel(path)

    def transfer(self, source, model, kwargs):
        transfer_caffemodel(source, model, self)

    def source_classes(self, source):
        return classes(source, self)


# --- Weights -------------------------------------------------------------------------


def _describe(name, kind, blobs):
    shapes = ", ".join(str(tuple(b.shape)) for b in blobs)
    return f"Caffe layer {name!r} ({kind}, blobs {shapes})"


def _fit(name, what, array, shape):
    """``array`` reshaped by its element count to ``shape`` (Caffe's order); ValueError
    naming the Caffe layer and both shapes when the counts differ."""
    if array.size != int(np.prod(shape)):
        raise ValueError(
            f"Caffe layer {name!r} does not fit: its {what} has shape {tuple(array.shape)}, the keras_cnns "
            f"layer needs {tuple(shape)} (Caffe's order). Received: {what} of shape {tuple(array.shape)}"
        )
    return array.reshape(shape)


def _arrays(name, blobs, layer, feature_map):
    """``name``'s blobs as the layer's ``[kernel, bias]`` (or ``[kernel]``), in Keras' layout."""
    if len(blobs) != (2 if layer.use_bias else 1):
        raise ValueError(
            f"Caffe layer {name!r} has {len(blobs)} blob(s); keras_cnns layer {layer.path!r} "
            f"{'has' if layer.use_bias else 'has no'} bias. Received: {len(blobs)} blobs"
        )
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, inputs, filters = tuple(layer.kernel.shape)
        kernel = _fit(name, "weight", blobs[0], (filters, inputs, kh, kw)).transpose(2, 3, 1, 0)
    elif isinstance(layer, keras.layers.Dense):
        inputs, units = tuple(layer.kernel.shape)
        kernel = _fit(name, "weight", blobs[0], (units, inputs))
        if feature_map is None:
            kernel = kernel.T
        else:  # Caffe flattens (C, H, W); Keras flattens (H, W, C).
            h, w, c = feature_map
            kernel = kernel.reshape(units, c, h * w).transpose(2, 1, 0).reshape(inputs, units)
    else:
        raise ValueError(
            f"Caffe weights fill Conv2D and Dense layers. Received: {type(layer).__name__} {layer.path!r} for {name!r}"
        )
    arrays = [np.ascontiguousarray(kernel, dtype="float32")]
    if layer.use_bias:
        arrays.append(_fit(name, "bias", blobs[1], tuple(layer.bias.shape)).astype("float32"))
    return arrays


def transfer_caffemodel(layers, model, weights):
    """Copies the Caffe layers ``layers`` (``parse``) into the equivalent keras_cnns
    ``model``, mapping layer names with ``weights.rule``.

    Every keras_cnns layer with weights receives them exactly once, and every Caffe layer
    with blobs maps to a layer (those mapped into a layer of ``weights.optional`` that the
    model was built without, and the rule's ``SKIP`` layers, are left out); otherwise
    nothing is copied and the ValueError names the first Caffe layer, in file order, that
    does not fit, or the keras_cnns layer left without weights.
    """
    ours = weighted_layers(model)
    present = {path.split("/")[0] for path in ours}
    maps = flattened_maps(model)
    pending, done = [], set()
    for name, (kind, blobs) in layers.items():
        path = weights.rule(name)
        if path is None:
            raise ValueError(
                f"Cannot map {_describe(name, kind, blobs)} to a keras_cnns layer of {model.name}: is this "
                f"file {weights.label}? Received: Caffe layer {name!r}"
            )
        if path == SKIP or (path.split("/")[0] in weights.optional and path.split("/")[0] not in present):
            continue
        layer = ours.get(path)
        if layer is None:
            raise ValueError(
                f"Cannot map {_describe(name, kind, blobs)}: {model.name} has no layer {path!r}. "
                f"Received: Caffe layer {name!r}"
            )
        if path in done:
            raise ValueError(f"keras_cnns layer {path!r} would receive the weights of two Caffe layers, the second {name!r}.")
        done.add(path)
        pending.append((layer, _arrays(name, blobs, layer, maps.get(path))))
    missing = [path for path in ours if path not in done]
    if missing:
        raise ValueError(
            f"keras_cnns layer {missing[0]!r} receives no weights from the Caffe file ({len(missing)} such "
            f"layers): is this file {weights.label}? Received: {len(layers)} Caffe layers with blobs"
        )
    for layer, arrays in pending:
        layer.set_weights(arrays)


def classes(layers, weights):
    """The number of classes of the file's classifier (``weights.classifier``: the size
    of its bias), or None."""
    kind, blobs = layers.get(weights.classifier, (None, []))
    return int(blobs[1].size) if len(blobs) > 1 else None


def convert_file(name, weights, path, create, **kwargs):
    """Variant ``name`` (whose ``CaffeWeights`` is ``weights``) built with
    ``create(name, **options)`` and the weights of the ``.caffemodel`` at ``path``.

    Args:
        name: the registered variant that declares ``weights``.
        weights: its ``CaffeWeights`` descriptor.
        path: the ``.caffemodel`` file.
        create: the builder of registered variants (``keras_cnns.create_model``).
        **kwargs: builder arguments. The descriptor's ``options`` apply (the layout the
            file needs, such as Caffe's LRN constants; another value raises); the
            classes come from the file's classifier unless ``num_classes`` is given;
            the model returns logits, as Caffe's last inner product, unless
            ``classifier_activation`` is given; ``aux_logits=True`` loads the auxiliary
            classifiers of a variant that has them, where the file has them too.

    Returns:
        An uncompiled keras_cnns ``keras.Model``.

    Raises:
        ValueError: a file that is no Caffe model, or whose layers do not fit the
            variant (the message names the first Caffe layer that does not).

    Examples:

    >>> import keras_cnns
    >>> declared = [(name, w) for name in keras_cnns.list_models() for w in keras_cnns.model_info(name).weights
    ...             if isinstance(w, CaffeWeights)]
    >>> sorted({w.tag for _, w in declared}), all(w.file.endswith(".caffemodel") for _, w in declared)
    (['bvlc', 'caffe'], True)
    >>> name, weights = declared[0]
    >>> model = convert_file(name, weights, f"/path/to/{weights.file}", keras_cnns.create_model)  # doctest: +SKIP
    """
    return weights.convert(name, read_caffemodel(path), create, **kwargs)
