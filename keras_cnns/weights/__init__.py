"""Weights: generic engines, one per format, and the shared download, cache and checksum.

- ``preprocessing``: the ``Preprocessing`` record (how images are prepared) and its
  normalization.
- ``base``: ``Weights``, the descriptor a family declares for each set of weights a
  variant loads; ``weighted_layers``.
- ``fetch``: download, cache, checksum, and the one-probe offline failure.
- ``keras_applications``: keras.applications' ``.h5`` files and models.
- ``saved``: what Keras saved (run folders of train.py, ``.keras`` and ``.weights.h5``
  files) and the run record (``run.json``); ``copy_weights`` by layer path.
- ``torchvision``: torchvision's state dicts and models (needs the ``torch`` extra when
  a file is read).

Engines know formats, never families: a family's layer-name rules and recognizers are
fields of its descriptors (``keras_cnns/models/<family>.py``).
"""

from keras_cnns.weights.base import SKIP, Weights, classifier_layer, copy_weights, weighted_layers
from keras_cnns.weights.keras_applications import KerasApplicationsWeights
from keras_cnns.weights.preprocessing import IMAGENET_CAFFE, IMAGENET_INCEPTION, IMAGENET_RGB, Preprocessing
from keras_cnns.weights.saved import RunRecord, SavedWeights, read_run, write_run
from keras_cnns.weights.torchvision import TorchvisionWeights

__all__ = [
    "IMAGENET_CAFFE",
    "IMAGENET_INCEPTION",
    "IMAGENET_RGB",
    "KerasApplicationsWeights",
    "Preprocessing",
    "RunRecord",
    "SKIP",
    "SavedWeights",
    "TorchvisionWeights",
    "Weights",
    "classifier_layer",
    "copy_weights",
    "read_run",
    "weighted_layers",
    "write_run",
]
