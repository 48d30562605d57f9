"""Weights: generic engines, one per format, and the shared download, cache and checksum.

- ``preprocessing``: the ``Preprocessing`` record (how images are prepared) and its
  normalization.
- ``base``: ``Weights``, the descriptor a family declares for each set of weights a
  variant loads; ``weighted_layers``.
- ``fetch``: download, cache, checksum, and the one-probe offline failure.
- ``keras_applications``: keras.applications' ``.h5`` files and models.
- ``caffe``: Caffe ``.caffemodel`` files (BVLC's and the Caffe Model Zoo's), read
  without Caffe through a message schema built at run time.
- ``saved``: what Keras saved (run folders of train.py, ``.keras`` and ``.weights.h5``
  files) and the run record (``run.json``); ``copy_weights`` by layer path.
- ``state_dict``: PyTorch state dicts (``.pth``, ``.safetensors``) mapped by a rule
  from module names to layer paths; the engine of the three below.
- ``torchvision``: torchvision's state dicts and models (needs the ``torch`` extra when
  a file is read).
- ``timm``: timm's weights (``model.safetensors`` on the Hugging Face Hub) and models.
- ``cadene``: the weights and models of Cadene's pretrainedmodels.

Engines know formats, never families: a family's layer-name rules and recognizers are
fields of its descriptors (``keras_cnns/models/<family>.py``).
"""

from keras_cnns.weights.base import SKIP, Weights, classifier_layer, copy_weights, weighted_layers
from keras_cnns.weights.cadene import CadeneWeights
from keras_cnns.weights.caffe import CaffeWeights
from keras_cnns.weights.keras_applications import KerasApplicationsWeights
from keras_cnns.weights.preprocessing import CIFAR10_RGB, IMAGENET_CAFFE, IMAGENET_INCEPTION, IMAGENET_RGB, Preprocessing
from keras_cnns.weights.saved import RunRecord, SavedWeights, read_run, write_run
from keras_cnns.weights.timm import TimmWeights
from keras_cnns.weights.torchvision import TorchvisionWeights

__all__ = [
    "CadeneWeights",
    "CaffeWeights",
    "CIFAR10_RGB",
    "IMAGENET_CAFFE",
    "IMAGENET_INCEPTION",
    "IMAGENET_RGB",
    "KerasApplicationsWeights",
    "Preprocessing",
    "RunRecord",
    "SKIP",
    "SavedWeights",
    "TimmWeights",
    "TorchvisionWeights",
    "Weights",
    "classifier_layer",
    "copy_weights",
    "read_run",
    "weighted_layers",
    "write_run",
]
