"""Search spaces: which hyperparameters a search varies, as data.

Each family module declares its default ``Space`` next to its variants
(``model_info(name).space``, the vocabulary in ``keras_cnns.models.spec``): a tuple of
architecture knobs (``Choice``, ``Boolean`` and ``Float`` rows) and a function from their
values to the model a trial builds, a registered architecture and keyword arguments of
its builder (``model_args``, as ``train.py --config`` takes them). Every space also
searches the training knobs of ``TRAINING``, whose names are ``TrainConfig`` fields
(``randaugment_magnitude`` sets ``randaugment``). A knob given a value on the command
line (``--lr 0.01``, or ``--fixed conv1_kernel=7``) is fixed.

``SPACES`` gathers the declared spaces, and ``training``: the training knobs alone, for
any architecture (``python tuning/search.py --help`` lists them). For instance ``zfnet``
(AlexNet, AlexNet-OWT, ZFNet) searches what Zeiler and Fergus changed in AlexNet: the
first convolution's kernel {11, 9, 7} and stride {4, 2}, the second's stride {1, 2},
the widths, one or two towers, LRN, the pooling and the head.

>>> space = default_space("alexnet")
>>> space.name, [knob.name for knob in space.knobs][:3]
('zfnet', ['conv1_kernel', 'conv1_stride', 'conv2_stride'])
>>> arch, model_args = space.model(model_info("alexnet"), dict(conv1_kernel=7, conv1_stride=2, conv2_stride=2,
...     conv_width=1.0, towers=1, lrn=True, pool_overlap=True, fc_units=4096))
>>> arch, [row[:4] for row in model_args["convs"][:2]]
('alexnet', [[96, 7, 2, 0], [256, 5, 2, 2]])
"""

from keras_cnns.models import list_models, model_info
from keras_cnns.models.spec import DROPOUT, TRAINING, Boolean, Choice, Float, Space, builder_defaults

__all__ = ["Boolean", "Choice", "DROPOUT", "Float", "SPACES", "Space", "TRAINING", "builder_defaults", "default_space",
           "get_space", "spaces_of", "training_fields"]

#: The training knobs alone, for any architecture.
TRAINING_SPACE = Space("training", (), lambda info, values: (info.name, {}), "the training knobs alone, for any architecture")


def _declared():
    found = {}
    for name in list_models():
        space = model_info(name).space
        if space is not None and found.setdefault(space.name, space) is not space:
            raise ValueError(f"Two search spaces are named {space.name!r}. Received: the space of {name}")
    return found


#: Every declared space by name, then ``training``.
SPACES = {**_declared(), TRAINING_SPACE.name: TRAINING_SPACE}


def training_fields(values, base):
    """The ``TrainConfig`` fields that training knob ``values`` set; RandAugment keeps
    the number of operations of the ``base`` configuration (2 if it has none)."""
    fields = {knob.name: values[knob.name] for knob in TRAINING + (DROPOUT,) if knob.name in values}
    if "randaugment_magnitude" in fields:
        magnitude = fields.pop("randaugment_magnitude")
        fields["randaugment"] = [base.randaugment[0] if base.randaugment else 2, magnitude] if magnitude else None
    return fields


def spaces_of(info):
    """The names of the spaces that apply to a variant: its own and ``training``."""
    return [name for name in (info.space.name if info.space else None, TRAINING_SPACE.name) if name]


def default_space(arch):
    """The space a registered architecture declares (``zfnet`` for AlexNet), else ``training``."""
    return model_info(arch).space or TRAINING_SPACE


def get_space(name, arch):
    """The space ``name`` (None: ``default_space(arch)``), checked against ``arch``."""
    if name is None:
        return default_space(arch)
    if name not in SPACES:
        raise ValueError(f"Unknown search space; the spaces are {sorted(SPACES)}. Received: space={name!r}")
    fits = spaces_of(model_info(arch))
    if name not in fits:
        users = [n for n in list_models() if model_info(n).space is SPACES[name]]
        raise ValueError(f"The {name} space is for {', '.join(users)}; {arch} takes {fits}. Received: space={name!r}")
    return SPACES[name]
