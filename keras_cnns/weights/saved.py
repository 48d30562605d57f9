"""Weights that Keras saved: run folders, ``.keras`` and ``.weights.h5`` files.

A run folder of ``train.py`` holds ``best.keras`` (the training model with the highest
validation accuracy) and ``run.json``, the ``RunRecord`` of the run: its architecture,
classes, preprocessing, input size and where its starting weights came from. Any of
these is a source of weights for a registered variant (``create_model(name,
weights="runs/NAME-DATE")``), described by a ``SavedWeights`` descriptor made from
the path:

- every weight whose layer path and shape match is copied;
- the classifier (the last layer holding weights on the way from the main output back
  to the input) is freshly initialized when its classes differ, as timm's and
  keras-hub's ``num_classes=`` do;
- auxiliary classifiers absent from the source stay initialized; any other layer that
  is missing or has another shape stops the load with a one-line error naming it.

``classifier_paths`` and ``backbone_layers`` tell a fine-tuning run which layers to
freeze.
"""

import dataclasses
import json
import os
import tempfile

import keras

from keras_cnns.weights.base import Weights, copy_weights
from keras_cnns.weights.preprocessing import Preprocessing

#: The files of a run folder that the weights come from.
RUN_FILE = "run.json"
MODEL_FILE = "best.keras"


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What a run folder's ``run.json`` records about the run.

    Attributes:
        arch: the registry name of the trained architecture.
        class_names: the class names, in label order.
        preprocessing: the ``Preprocessing`` its images were prepared with.
        image_size: its square input size.
        dataset: the dataset spec it was trained on.
        weights: where its starting weights came from: a tag ("imagenet"), the absolute
            path of a file or run folder, or None (trained from scratch).
        weights_label: those weights in words (the format and the source model), or "".
        model_args: the builder arguments it was built with (``TrainConfig.model_args``).
    """

    arch: str
    class_names: tuple
    preprocessing: Preprocessing
    image_size: int
    dataset: str = ""
    weights: str = None
    weights_label: str = ""
    model_args: dict = dataclasses.field(default_factory=dict)

    @property
    def num_classes(self):
        return len(self.class_names)

    def to_json(self):
        values = dataclasses.asdict(self)
        values["class_names"] = list(self.class_names)
        return json.dumps(values, indent=2)

    @classmethod
    def from_json(cls, text):
        values = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        prep = dict(values["preprocessing"])
        values["preprocessing"] = Preprocessing(**{**prep, "mean": tuple(prep["mean"]), "std": tuple(prep["std"])})
        values["class_names"] = tuple(values["class_names"])
        return cls(**values)


def write_run(folder, record):
    """Writes ``record`` to ``folder/run.json`` (atomically)."""
    path = os.path.join(folder, RUN_FILE)
    with open(path + ".tmp", "w") as f:
        f.write(record.to_json())
    os.replace(path + ".tmp", path)


def run_folder(path):
    """The run folder of ``path`` (a run folder, or a ``.keras`` file inside one), or None."""
    path = os.fspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return folder if os.path.isfile(os.path.join(folder, RUN_FILE)) else None


def read_run(path):
    """The ``RunRecord`` of a run folder, or of the run folder a ``.keras`` file is in;
    None when there is none."""
    folder = run_folder(path)
    if folder is None:
        return None
    with open(os.path.join(folder, RUN_FILE)) as f:
        return RunRecord.from_json(f.read())


def model_file(path):
    """The ``.keras`` file of ``path``: a run folder's ``best.keras``, or ``path`` itself.

    Raises:
        ValueError: a folder without ``best.keras``, or a missing file.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        found = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(found):
            raise ValueError(
                f"No {MODEL_FILE} in that folder: a run folder of train.py holds one once an epoch has ended. "
                f"Received: weights={path!r}"
            )
        return found
    if not os.path.isfile(path):
        raise ValueError(f"No weights file at that path. Received: weights={path!r}")
    return path


def _datasets(h5):
    found = {}

    def visit(key, item):  # returns None: a value would stop h5py's walk
        if hasattr(item, "shape"):
            found[key] = item

    h5.visititems(visit)
    return found


#: The ``.weights.h5`` key prefix of the predictions of our models (the one top-level
#: Dense layer), and where files saved before the ``predictions`` layer (2026-12) keep it.
_PREDICTIONS_KEYS = ("layers/dense/", "layers/classifier_head/predictions/")


def load_weights_file(model, path, num_classes):
    """Loads a Keras ``.weights.h5`` file into ``model``; a classifier of another number of
    classes stays freshly initialized (a weight whose shape differs only in its last
    axis, which is ``num_classes`` here). Any other difference raises ValueError naming
    the weight.

    Returns:
        ``(fresh, classes)``: the weights left initialized, and the classes of the
        file's classifier (None when they are ``num_classes``).
    """
    import h5py

    fresh, classes = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        mine = os.path.join(tmp, "model.weights.h5")
        model.save_weights(mine)
        with h5py.File(path, "r") as source, h5py.File(mine, "r+") as target:
            theirs = _datasets(source)
            for key, dataset in _datasets(target).items():
                other = theirs.get(key)
                new, old = _PREDICTIONS_KEYS
                if other is None and key.startswith(new):
                    other = theirs.get(old + key[len(new):])
                if other is None:
                    raise ValueError(f"The weights file has no {key}: it is not a {model.name} of this layout. "
                                     f"Received: weights={os.fspath(path)!r}")
                if other.shape == dataset.shape:
                    dataset[...] = other[...]
                elif other.shape[:-1] == dataset.shape[:-1] and dataset.shape[-1:] == (num_classes,):
                    fresh.append(key)
                    classes.add(other.shape[-1])
                else:
                    raise ValueError(
                        f"The weights file does not fit {model.name}: {key} has shape {dataset.shape} here and "
                        f"{other.shape} there. Received: weights={os.fspath(path)!r}"
                    )
        model.load_weights(mine)
    return fresh, (classes.pop() if len(classes) == 1 else None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SavedWeights(Weights):
    """Weights Keras saved: a run folder (its ``best.keras``), a ``.keras`` file or a
    ``.weights.h5`` file, for a registered variant of the same layout.

    Made from the path by ``from_path``, not declared by families. ``num_classes``,
    ``preprocessing`` and the builder arguments default to the run's (``run.json``) when
    there is one; a call may ask for other classes (the classifier is then freshly
    initialized) but not for another preprocessing.

    Attributes:
        path: the run folder or file.
        record: the ``RunRecord`` of its run, or None.
    """

    path: str
    record: RunRecord = None
    FORMAT = "Keras"

    @property
    def label(self):
        if self.record is not None:
            return f"{self.record.arch} run {run_folder(self.path)}"
        return f"Keras file {self.path}"

    @classmethod
    def claims(cls, path):
        """Run folders, ``.keras`` and ``.weights.h5`` files."""
        path = os.fspath(path)
        return os.path.isdir(path) or path.endswith((".keras", ".weights.h5"))

    @classmethod
    def from_path(cls, path, preprocessing):
        """The descriptor of ``path``; ``preprocessing`` is that of a model trained from
        scratch, which a file outside a run folder is taken to expect."""
        path = os.fspath(path)
        record = read_run(path)
        return cls(
            tag=path,
            path=path,
            record=record,
            preprocessing=record.preprocessing if record else preprocessing,
            num_classes=record.num_classes if record else None,
        )

    def builder_options(self, name, kwargs):
        kwargs = dict(kwargs)
        if self.record is not None and self.record.arch == name:
            for key, value in (self.record.model_args or {}).items():
                kwargs.setdefault(key, value)
        if self.num_classes is not None:
            kwargs.setdefault("num_classes", self.num_classes)
        return kwargs

    def load(self, info, builder, kwargs, path=None):
        """Builds ``info``'s variant with ``builder(**kwargs)`` and copies these weights
        in (``copy_weights`` for a ``.keras`` model, ``load_weights_file`` for a
        ``.weights.h5`` file)."""
        kwargs = self.builder_options(info.name, {k: v for k, v in kwargs.items() if k != "weights"})
        self.check_request(info, kwargs)
        if self.path.endswith(".weights.h5"):
            if not os.path.isfile(self.path):
                raise ValueError(f"No weights file at that path. Received: weights={self.path!r}")
            model = builder(**kwargs)
            _, classes = load_weights_file(model, self.path, kwargs.get("num_classes", 1000))
            if classes is not None and "num_classes" not in kwargs:  # the file's own classes
                model = builder(**kwargs, num_classes=classes)
                load_weights_file(model, self.path, classes)
            return model
        source = keras.saving.load_model(model_file(self.path), compile=False)
        kwargs.setdefault("num_classes", int(source.outputs[0].shape[-1]))
        model = builder(**kwargs)
        copy_weights(source, model, f"The weights of the {self.label}")
        return model
