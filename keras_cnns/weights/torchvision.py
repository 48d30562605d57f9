"""The torchvision format: PyTorch state dicts of torchvision's models.

A variant that computes exactly what a torchvision model computes declares
``TorchvisionWeights``: the torchvision model name, its default ImageNet weight file,
the resize of those weights' evaluation, a ``rule`` from torchvision's module names to
our layer paths, a ``recognize`` function for torchvision model objects, and the
builder options that make our variant torchvision's. Then

- ``create_model(name, weights="torchvision")`` fetches the file through torch's hub
  cache (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``)
  and converts it; offline with no cached file it fails at once, naming the file and
  the folder;
- ``convert_state_dict`` and ``convert`` (``keras_cnns.from_torchvision_state_dict`` and
  ``keras_cnns.from_torchvision``) convert a state dict or a model of any class count.

The copy is the PyTorch state-dict engine's (``keras_cnns.weights.state_dict``, shared
with timm's and Cadene's formats): conventions are matched, not approximated, every
keras_cnns layer with weights receives them exactly once and every torchvision module
maps to a layer (or is skipped by its rule), else nothing is copied and the error names
the key or the layer.

torch is an optional extra (``pip install "keras-cnns[torch]"``), needed only here and
only when a file is read. Import torchvision before TensorFlow in one process: with the
CUDA builds of torch it loads Triton, whose LLVM crashes a process that already has
TensorFlow's. This module imports only torch, which is safe in any order.
"""

import dataclasses

from keras_cnns.weights.preprocessing import IMAGENET_RGB, Preprocessing
from keras_cnns.weights.state_dict import (  # this module's public names since before the engine
    CACHE,
    INSTALL,
    TorchHubWeights,
    checkpoint_dir,
    classes,
    convert_state_dict,
    count_modules,
    load_state_dict,
    modules,
    transfer_state_dict,
)
from keras_cnns.weights.state_dict import convert as _convert

__all__ = [
    "BASE", "CACHE", "INSTALL", "LICENSE", "TorchvisionWeights", "checkpoint_dir", "classes", "convert",
    "convert_state_dict", "count_modules", "load_state_dict", "modules", "preprocessing", "transfer_state_dict",
]

BASE = "https://download.pytorch.org/models/"
#: torchvision's README on its weights states no license of their own: they may carry the
#: terms of the dataset they were trained on, ImageNet.
LICENSE = "not stated (ImageNet's terms may apply)"


def preprocessing(resize, crop=224):
    """torchvision's evaluation: RGB in [0, 1] normalized with the ImageNet mean and std,
    bilinear resize of the shorter side to ``resize``, center crop ``crop``."""
    return Preprocessing(mean=IMAGENET_RGB.mean, std=IMAGENET_RGB.std, crop_pct=crop / resize, interpolation="bilinear")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchvisionWeights(TorchHubWeights):
    """torchvision's ImageNet weights for a variant that computes its model's function.

    Attributes:
        model: the name of torchvision's model (its ``torchvision.models`` builder).
        file: torchvision's default weight file under ``BASE``; the 8 hex digits after
            its last ``-`` are the start of its SHA-256, which the download checks.
        resize: the resize before the 224 center crop of the weights' evaluation.
        rule: torchvision module name (state-dict key without the parameter) -> our
            layer path, None for an unknown module, or ``SKIP``.
        recognize: a function of a torchvision model object returning our variant's
            builder options when it is this model (with its structure's own options,
            such as a flag it was built with), else None.
    """

    file: str
    resize: int = 256
    tag: str = "torchvision"
    preprocessing: Preprocessing = None
    license: str = LICENSE

    FORMAT = "torchvision"
    SOURCE = "torchvision"

    def __post_init__(self):
        if self.preprocessing is None:
            object.__setattr__(self, "preprocessing", preprocessing(self.resize))

    @property
    def url(self):
        return BASE + self.file


def convert(tv_model, candidates, create, **kwargs):
    """The keras_cnns model equivalent to the torchvision model ``tv_model``, with its
    weights: ``candidates`` are ``(variant name, TorchvisionWeights)`` pairs, the one
    whose ``recognize`` takes ``tv_model`` is built with ``create``."""
    return _convert(tv_model, candidates, create, argument="tv_model", **kwargs)
