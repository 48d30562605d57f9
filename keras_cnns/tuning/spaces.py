"""Search spaces: which hyperparameters a search varies, as data.

A ``Space`` is a tuple of architecture knobs (``Choice``, ``Boolean`` and ``Float`` rows) and a
function from their values to the model a trial builds: a registered architecture and
keyword arguments of its builder (``model_args``, as ``train.py --config`` takes them).
Every space also searches the training knobs of ``TRAINING``, whose names are
``TrainConfig`` fields (``randaugment_magnitude`` sets ``randaugment``). A knob given a
value on the command line (``--lr 0.01``, or ``--fixed conv1_kernel=7``) is fixed.

The spaces (``SPACES``; ``python tuning/search.py --help`` lists them):

- ``zfnet`` (AlexNet, AlexNet-OWT, ZFNet): Zeiler and Fergus found ZFNet by searching
  AlexNet's first layer: the first convolution's kernel {11, 9, 7} and stride {4, 2},
  the second's stride {1, 2} (ZFNet's Fig. 3 has 2), the convolution widths (a
  multiplier of 96-256-384-384-256), one or two towers (grouped convolutions in conv2,
  conv4 and conv5, as AlexNet's two GPUs), LRN on or off, overlapping 3x3/2 or plain
  2x2/2 pooling, the width of the two fully connected layers and dropout.
- ``resnet``: depth {18, 34, 50, 101, 152} (the registered variant) and width (the first
  stage's channels, doubled at each stage; 64 in the paper).
- ``resnext``: depth {50, 101}, cardinality and the width of each group.
- ``densenet``: growth rate k and the transitions' compression.
- ``mobilenet``: the width multiplier alpha.
- ``inception`` (GoogLeNet, BN-Inception, Inception v3, v4, Inception-ResNet): a width
  multiplier of every convolution (TF-slim's depth_multiplier) and dropout.
- ``vgg``: depth {11, 13, 16, 19}, batch norm, the fully connected width and dropout.
- ``lenet``: activation and width; ``nin``: dropout.
- ``training``: the training knobs alone, for any architecture.

>>> space = default_space("alexnet")
>>> space.name, [knob.name for knob in space.knobs][:3]
('zfnet', ['conv1_kernel', 'conv1_stride', 'conv2_stride'])
>>> arch, model_args = space.model("alexnet", dict(conv1_kernel=7, conv1_stride=2, conv2_stride=2, conv_width=1.0,
...     towers=1, lrn=True, pool_overlap=True, fc_units=4096))
>>> arch, [row[:4] for row in model_args["convs"][:2]]
('alexnet', [[96, 7, 2, 0], [256, 5, 2, 2]])
"""

import dataclasses
import fnmatch
import inspect
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Choice:
    """A hyperparameter taking one of ``values`` (ints, floats or strings, numbers in
    increasing order: Bayesian optimization treats them as ordinal). ``default`` is
    the paper's value (None: the first)."""

    name: str
    values: tuple
    help: str = ""
    default: object = None

    def declare(self, hp, default=None):
        default = default if default in self.values else self.default
        return hp.Choice(self.name, list(self.values), default=default)

    def describe(self):
        return "{" + ", ".join(str(v) for v in self.values) + "}"


@dataclasses.dataclass(frozen=True)
class Boolean:
    """A hyperparameter that is True or False (keras-tuner's Choice would make them 1 and 0)."""

    name: str
    help: str = ""
    default: bool = False
    values = (True, False)

    def declare(self, hp, default=None):
        return hp.Boolean(self.name, default=default if isinstance(default, bool) else self.default)

    def describe(self):
        return "{True, False}"


@dataclasses.dataclass(frozen=True)
class Float:
    """A hyperparameter in ``[low, high]``, sampled uniformly or, with ``log``, log-uniformly."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float = None
    help: str = ""

    def declare(self, hp, default=None):
        default = default if isinstance(default, (int, float)) and self.low <= default <= self.high else None
        return hp.Float(self.name, self.low, self.high, step=self.step, sampling="log" if self.log else "linear",
                        default=default)

    def describe(self):
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


#: Searched in every space. Each name is a TrainConfig field, except
#: ``randaugment_magnitude``: RandAugment with 2 operations of that magnitude (0: off).
TRAINING = (
    Choice("optimizer", ("sgd", "adamw"), "SGD with momentum, or AdamW"),
    Float("lr", 1e-4, 1e-1, log=True, help="initial learning rate"),
    Float("weight_decay", 1e-6, 1e-3, log=True, help="L2 penalty (decoupled for AdamW)"),
    Choice("label_smoothing", (0.0, 0.1), "label smoothing"),
    Choice("randaugment_magnitude", (0, 5, 10), "augmentation strength: RandAugment magnitude, 2 operations (0: off)"),
    Choice("batch_size", (32, 64, 128), "global batch (HyperModel.fit)"),
)
DROPOUT = Float("dropout", 0.0, 0.6, step=0.1, help="dropout before the classifier")


def training_fields(values, base):
    """The ``TrainConfig`` fields that training knob ``values`` set; RandAugment keeps
    the number of operations of the ``base`` configuration (2 if it has none)."""
    fields = {knob.name: values[knob.name] for knob in TRAINING + (DROPOUT,) if knob.name in values}
    if "randaugment_magnitude" in fields:
        magnitude = fields.pop("randaugment_magnitude")
        fields["randaugment"] = [base.randaugment[0] if base.randaugment else 2, magnitude] if magnitude else None
    return fields


def builder_defaults(arch):
    """The keyword defaults of a registered variant's builder (its table, for AlexNet)."""
    from keras_cnns.models import model_info

    parameters = inspect.signature(model_info(arch).builder).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


# ---------------------------------------------------------------- architecture knobs


def _alexnet(arch, v):
    from keras_cnns.models.alexnet import Conv

    rows = []
    for i, row in enumerate(Conv(*row) for row in builder_defaults(arch)["convs"]):
        groups = v["towers"] if i in (1, 3, 4) else 1  # AlexNet's towers: conv2, conv4, conv5
        filters = max(groups, round(row.filters * v["conv_width"] / groups) * groups)
        kernel, stride = (v["conv1_kernel"], v["conv1_stride"]) if i == 0 else (row.kernel, row.stride)
        stride = v["conv2_stride"] if i == 1 else stride
        then = [op for op in row.then if op != "lrn"]
        if v["lrn"] and i < 2:
            then = list(row.then) if "lrn" in row.then else ["lrn", *then]  # AlexNet: LRN, then pooling
        rows.append([filters, kernel, stride, row.padding, groups, then])
    return arch, dict(convs=rows, pool_size=3 if v["pool_overlap"] else 2, fc_units=[v["fc_units"]] * 2)


def _resnet(arch, v):
    width = v["width"]
    return f"resnet{v['depth']}", ({} if width == 64 else dict(widths=[width, 2 * width, 4 * width, 8 * width]))


def _resnext(arch, v):
    return f"resnext{v['depth']}_32x4d", dict(groups=v["cardinality"], width_per_group=v["group_width"])


def _vgg(arch, v):
    args = {} if v["fc_units"] == 4096 else dict(fc_units=[v["fc_units"]] * 2)
    return f"vgg{v['depth']}" + ("_bn" if v["batch_norm"] else ""), args


def _lenet(arch, v):
    return arch, dict(activation=v["activation"], filters=[6 * v["width"], 16 * v["width"]])


def _knob_args(*names):
    """Knobs that are builder arguments of the same name."""
    return lambda arch, v: (arch, {name: v[name] for name in names})


@dataclasses.dataclass(frozen=True)
class Space:
    """A search space: the architecture knobs of some registered models.

    Attributes:
        name: the ``--space`` name.
        archs: fnmatch patterns of the registry names it applies to.
        knobs: the architecture knobs (``Choice`` / ``Float``), plus ``DROPOUT`` where
            the builders take a dropout rate (it sets ``TrainConfig.dropout``).
        model: ``(arch, values) -> (arch, model_args)``: the registered model a trial
            builds and the keyword arguments of its builder.
        doc: one line for ``--help`` and the README.
    """

    name: str
    archs: tuple
    knobs: tuple
    model: Callable = dataclasses.field(repr=False)
    doc: str = ""

    def applies_to(self, arch):
        return any(fnmatch.fnmatchcase(arch, pattern) for pattern in self.archs)

    @property
    def all_knobs(self):
        return self.knobs + TRAINING


SPACES = {space.name: space for space in (
    Space("zfnet", ("alexnet*", "zfnet"), (
        Choice("conv1_kernel", (11, 9, 7), "first convolution's kernel size"),
        Choice("conv1_stride", (4, 2), "first convolution's stride"),
        Choice("conv2_stride", (1, 2), "second convolution's stride (ZFNet: 2)"),
        Choice("conv_width", (0.5, 0.75, 1.0), "multiplier of the convolution widths", default=1.0),
        Choice("towers", (1, 2), "grouped convolutions in conv2, conv4, conv5 (AlexNet's two GPUs: 2)", default=2),
        Boolean("lrn", "local response normalization after conv1 and conv2", default=True),
        Boolean("pool_overlap", "overlapping 3x3/2 max pooling, or 2x2/2", default=True),
        Choice("fc_units", (1024, 2048, 4096), "width of the two fully connected layers", default=4096),
        DROPOUT,
    ), _alexnet, "AlexNet's first layer, widths, towers, LRN, pooling and head, as ZFNet was found"),
    Space("resnet", ("resnet*",), (
        Choice("depth", (18, 34, 50, 101, 152), "layers: the registered resnetN", default=50),
        Choice("width", (32, 48, 64, 96), "first stage's channels, doubled at each stage (paper: 64)", default=64),
    ), _resnet, "ResNet depth and width"),
    Space("resnext", ("resnext*",), (
        Choice("depth", (50, 101), "layers: the registered resnextN_32x4d"),
        Choice("cardinality", (8, 16, 32, 64), "groups of the 3x3 convolutions", default=32),
        Choice("group_width", (4, 8), "channels of each group at the first stage (d)"),
    ), _resnext, "ResNeXt depth, cardinality and group width"),
    Space("densenet", ("densenet*",), (
        Choice("growth_rate", (12, 16, 24, 32, 48), "channels each dense layer adds (k)", default=32),
        Choice("compression", (0.5, 0.75, 1.0), "fraction of channels a transition keeps", default=0.5),
    ), _knob_args("growth_rate", "compression"), "DenseNet growth rate and compression"),
    Space("mobilenet", ("mobilenet*",), (
        Choice("alpha", (0.25, 0.35, 0.5, 0.75, 1.0, 1.4), "width multiplier", default=1.0),
    ), _knob_args("alpha"), "MobileNet width multiplier alpha"),
    Space("inception", ("googlenet*", "bn_inception", "inception_*"), (
        Choice("width_multiplier", (0.25, 0.5, 0.75, 1.0), "multiplier of every convolution's width (min 16)", default=1.0),
        DROPOUT,
    ), _knob_args("width_multiplier"), "Inception width multiplier and dropout"),
    Space("vgg", ("vgg*",), (
        Choice("depth", (11, 13, 16, 19), "weight layers: configuration A, B, D or E", default=16),
        Boolean("batch_norm", "batch normalization after each convolution"),
        Choice("fc_units", (1024, 2048, 4096), "width of the two fully connected layers", default=4096),
        DROPOUT,
    ), _vgg, "VGG depth, batch norm, head width and dropout"),
    Space("lenet", ("lenet*",), (
        Choice("activation", ("tanh", "relu"), "activation (1998: tanh)"),
        Choice("width", (1, 2, 4), "multiplier of the 6 and 16 feature maps"),
    ), _lenet, "LeNet activation and width"),
    Space("nin", ("nin",), (DROPOUT,), lambda arch, v: (arch, {}), "NIN dropout"),
    Space("training", ("*",), (), lambda arch, v: (arch, {}), "the training knobs alone, for any architecture"),
)}


def default_space(arch):
    """The space of a registered architecture's family (``zfnet`` for AlexNet)."""
    from keras_cnns.models import model_info

    name = model_info(arch).name
    return next(space for space in SPACES.values() if space.applies_to(name))


def get_space(name, arch):
    """The space ``name`` (None: ``default_space(arch)``), checked against ``arch``."""
    if name is None:
        return default_space(arch)
    if name not in SPACES:
        raise ValueError(f"Unknown search space; the spaces are {sorted(SPACES)}. Received: space={name!r}")
    space = SPACES[name]
    if not space.applies_to(arch):
        fits = sorted(s.name for s in SPACES.values() if s.applies_to(arch))
        raise ValueError(f"The {name} space is for {', '.join(space.archs)}; {arch} takes {fits}. Received: space={name!r}")
    return space
