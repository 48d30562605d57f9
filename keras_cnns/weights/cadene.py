"""Cadene's format: the ``.pth`` state dicts of Cadene's pretrainedmodels
(https://github.com/Cadene/pretrained-models.pytorch).

A variant that computes exactly what one of its models computes declares
``CadeneWeights``: pretrainedmodels' model name (``"bninception"``), the URL of its
weight file (its ``pretrained_settings``), the evaluation of its README's accuracy
table, a ``rule`` from its module names to our layer paths, a ``recognize`` function
for its model objects, and the builder options that make our variant its model. Then

- ``create_model(name, weights="cadene")`` fetches the file through torch's hub cache
  (``$TORCH_HOME/hub/checkpoints``, where pretrainedmodels' ``model_zoo.load_url``
  puts it) and converts it; offline with no cached file it fails at once, naming the
  file, the URL and the folder;
- ``keras_cnns.weights.state_dict.convert_named`` and ``convert``
  (``keras_cnns.from_pretrainedmodels_state_dict`` and
  ``keras_cnns.from_pretrainedmodels``) convert a state dict or a model.

Its Caffe ports keep a convolution bias before each batch norm: the engine folds it
into the batch norm's moving mean (``keras_cnns.weights.state_dict``). Reading the
files needs torch (``pip install "keras-cnns[torch]"``).
"""

import dataclasses

from keras_cnns.weights.state_dict import TorchHubWeights

#: Cadene's repository (LICENSE.txt: BSD 3-Clause, for its code).
REPOSITORY = "https://github.com/Cadene/pretrained-models.pytorch"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CadeneWeights(TorchHubWeights):
    """The weights of one of Cadene's pretrainedmodels, for a variant that computes its
    model's function.

    Attributes:
        model: pretrainedmodels' model name (a key of its ``pretrained_settings``).
        url: the weight file's URL (pretrainedmodels' ``pretrained_settings``); the hex
            digits after the last ``-`` of its name are the start of its SHA-256
            (``TorchHubWeights``), which the download checks.
        rule: pretrainedmodels module name (state-dict key without the parameter) ->
            our layer path, None for an unknown module, or ``SKIP``.
        recognize: a function of a pretrainedmodels model object returning our
            variant's builder options when it is this model, else None.

    Examples:

    >>> from keras_cnns.weights import IMAGENET_CAFFE
    >>> weights = CadeneWeights(model="mynet", url="http://example.org/mynet-0123abcd.pth", preprocessing=IMAGENET_CAFFE)
    >>> weights.file, weights.checksum
    ('mynet-0123abcd.pth', 'sha256:0123abcd')
    """

    url: str
    tag: str = "cadene"

    FORMAT = "Cadene pretrainedmodels"
    SOURCE = "Cadene"

    @property
    def file(self):
        return self.url.rpartition("/")[2]
