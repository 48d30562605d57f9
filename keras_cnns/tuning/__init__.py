"""Hyperparameter searches with keras-tuner, ZFNet-style, for every registered model.

ZFNet was AlexNet with its first layer's filter size and stride, its widths and its
training settings searched. ``python tuning/search.py --arch alexnet --space zfnet``
does that search; any architecture has a space of its own knobs (``SPACES``), and every
space searches the training settings too.

- ``spaces``: the search spaces, as data.
- ``hypermodel``: ``CNNHyperModel``, the keras-tuner HyperModel of a registered model.
- ``search``: ``run_search``, a resumable, optionally distributed search.
- ``results``: ``results.csv``, ``best.json`` and ``search.png``.

>>> from keras_cnns.tuning import SPACES, default_space
>>> default_space("resnet50").name, default_space("inception_v3").name
('resnet', 'inception')
"""

from keras_cnns.tuning.hypermodel import CNNHyperModel, SkippedTrial
from keras_cnns.tuning.search import TUNERS, run_search
from keras_cnns.tuning.spaces import SPACES, TRAINING, Boolean, Choice, Float, Space, default_space, get_space

__all__ = ["Boolean", "CNNHyperModel", "Choice", "Float", "SPACES", "SkippedTrial", "Space", "TRAINING", "TUNERS", "default_space",
           "get_space", "run_search"]
