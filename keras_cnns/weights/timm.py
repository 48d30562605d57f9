"""The timm format: timm's weights on the Hugging Face hub (``model.safetensors``).

A variant that computes exactly what a timm model computes declares ``TimmWeights``:
timm's architecture name (``"<arch>"``) and pretrained tag (``"<tag>"``, such as
``"a1_in1k"``), whose hub repository (``timm/<arch>.<tag>``) holds the file, the evaluation that
reproduces timm's reported accuracy (its results CSV), a ``rule`` from timm's module
names to our layer paths, a ``recognize`` function for timm model objects, and the
builder options that make our variant timm's. Then

- ``create_model(name, weights="timm")`` uses the file that timm (huggingface_hub)
  already downloaded into the Hugging Face cache, else downloads it there (``fetch``);
  offline with no cached file it fails at once, naming the file, the URL and the
  folder to put it in;
- ``keras_cnns.weights.state_dict.convert_named`` and ``convert``
  (``keras_cnns.from_timm_state_dict`` and ``keras_cnns.from_timm``) convert a state
  dict or a timm model of any class count.

The Hugging Face cache is ``$HF_HUB_CACHE``, else ``$HF_HOME/hub`` (``HF_HOME`` defaults
to ``$XDG_CACHE_HOME/huggingface``, then ``~/.cache/huggingface``), read at each call.
A repository's files are in ``models--timm--<name>.<tag>/snapshots/<revision>/``; a
download goes to the revision folder ``main`` there, where huggingface_hub itself
looks for revision "main" when its cache has no ``refs/main``.

Reading ``.safetensors`` needs the safetensors package only (NumPy arrays), not torch.
"""

import dataclasses
import glob
import os

from keras_cnns.weights.fetch import fetch as fetch_file
from keras_cnns.weights.state_dict import SAFETENSORS, StateDictWeights, load_state_dict, safetensors_numpy

HUB = "https://huggingface.co/"
#: The hub cache, as the offline message describes it.
CACHE = "the Hugging Face hub cache: $HF_HUB_CACHE, by default $HF_HOME/hub or ~/.cache/huggingface/hub"


def hub_cache_dir():
    """The Hugging Face hub cache: ``$HF_HUB_CACHE`` (or the legacy
    ``$HUGGINGFACE_HUB_CACHE``), else ``$HF_HOME/hub``, with huggingface_hub's defaults,
    read at each call."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not cache:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
        )
        cache = os.path.join(home, "hub")
    return os.path.expanduser(os.path.expandvars(cache))


def repo_dir(hub_id):
    """The cache folder of hub model repository ``hub_id`` (``models--timm--<arch>.<tag>``)."""
    return os.path.join(hub_cache_dir(), "models--" + hub_id.replace("/", "--"))


def cached_file(hub_id, file):
    """The path of ``file`` of repository ``hub_id`` in the hub cache, or None: the
    revision that ``refs/main`` names first, then any other (newest first)."""
    repo = repo_dir(hub_id)
    found = [p for p in glob.glob(os.path.join(glob.escape(repo), "snapshots", "*", file)) if os.path.isfile(p)]
    found.sort(key=os.path.getmtime, reverse=True)
    try:
        with open(os.path.join(repo, "refs", "main")) as f:
            main = os.path.join(repo, "snapshots", f.read().strip(), file)
    except OSError:
        main = None
    return main if main in found else next(iter(found), None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TimmWeights(StateDictWeights):
    """timm's weights for a variant that computes its model's function.

    Attributes:
        model: timm's architecture name (``"<arch>"``).
        pretrained_tag: timm's tag of the weights (``"<tag>"``, such as ``"a1_in1k"``):
            ``timm.create_model("<arch>.<tag>", pretrained=True)`` loads them.
        hub_id: the Hugging Face hub repository of the file; defaults to
            ``timm/<model>.<pretrained_tag>``, as timm's pretrained cfg says.
        file: the file in that repository. Defaults to ``"model.safetensors"``.
        checksum: ``"sha256:<hex>"`` of the file, or None (the hub serves it over HTTPS;
            timm publishes none).
        rule: timm module name (state-dict key without the parameter) -> our layer
            path, None for an unknown module, or ``SKIP``.
        recognize: a function of a timm model object returning our variant's builder
            options when it is this architecture, else None.

    Examples:

    >>> from keras_cnns.weights import IMAGENET_RGB
    >>> weights = TimmWeights(model="mynet", pretrained_tag="a1_in1k", preprocessing=IMAGENET_RGB)
    >>> weights.label, weights.hub_id
    ('timm mynet.a1_in1k', 'timm/mynet.a1_in1k')
    >>> weights.url
    'https://huggingface.co/timm/mynet.a1_in1k/resolve/main/model.safetensors'
    """

    pretrained_tag: str
    hub_id: str = None
    file: str = "model.safetensors"
    checksum: str = None
    tag: str = "timm"

    FORMAT = "timm"
    SOURCE = "timm"

    def __post_init__(self):
        if self.hub_id is None:
            object.__setattr__(self, "hub_id", f"timm/{self.model}.{self.pretrained_tag}")

    @property
    def label(self):
        return f"timm {self.model}.{self.pretrained_tag}"

    @property
    def url(self):
        return f"{HUB}{self.hub_id}/resolve/main/{self.file}"

    @classmethod
    def claims(cls, path):
        return os.fspath(path).endswith(SAFETENSORS)

    def is_model(self, name):
        """``"<arch>"`` and ``"<arch>.<any tag>"``: timm's name of an architecture,
        with or without the tag of its weights (the layout is the architecture's)."""
        return name.partition(".")[0] == self.model

    def fetch(self, info, kwargs):
        if self.file.endswith(SAFETENSORS):
            safetensors_numpy()  # the missing package is named before any download
        path = cached_file(self.hub_id, self.file)
        if path is None:
            path = fetch_file(
                self.url, os.path.join(repo_dir(self.hub_id), "snapshots", "main"), file=self.file,
                checksum=self.checksum, what=f"timm's {self.model}.{self.pretrained_tag} weights", cache=CACHE,
            )
        return load_state_dict(path)
