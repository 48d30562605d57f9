"""Model builders, one module per family, all reached through the registry.

Every module of this package that is not private (``_builder``) nor one of the shared
ones (``registry``, ``spec``, ``convert``) is a family: importing it registers its
variants, and this package imports each, so a new family needs no line here. As in
torchvision, the builder ``alexnet`` shadows the module of the same name in this
namespace.
"""

import importlib
import pkgutil

from keras_cnns.models._builder import inference_model, load_inference_model
from keras_cnns.models.registry import (
    ModelInfo,
    PaperError,
    create_model,
    list_models,
    model_info,
    register_model,
    weight_tags,
)
from keras_cnns.weights.preprocessing import IMAGENET_CAFFE, IMAGENET_INCEPTION, IMAGENET_RGB, Preprocessing

#: The modules of this package that are not families.
SHARED = ("registry", "spec", "convert")

FAMILIES = tuple(
    importlib.import_module(f"{__name__}.{module.name}")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if not module.name.startswith("_") and module.name not in SHARED
)
for _family in FAMILIES:
    globals().update({name: getattr(_family, name) for name in _family.__all__})

from keras_cnns.models.convert import (  # noqa: E402
    from_caffemodel,
    from_keras_applications,
    from_pretrainedmodels,
    from_pretrainedmodels_state_dict,
    from_timm,
    from_timm_state_dict,
    from_torchvision,
    from_torchvision_state_dict,
)

__all__ = sorted(
    [
        "IMAGENET_CAFFE",
        "IMAGENET_INCEPTION",
        "IMAGENET_RGB",
        "ModelInfo",
        "PaperError",
        "Preprocessing",
        "create_model",
        "from_caffemodel",
        "from_keras_applications",
        "from_pretrainedmodels",
        "from_pretrainedmodels_state_dict",
        "from_timm",
        "from_timm_state_dict",
        "from_torchvision",
        "from_torchvision_state_dict",
        "inference_model",
        "load_inference_model",
        "list_models",
        "model_info",
        "register_model",
        "weight_tags",
    ]
    + [name for family in FAMILIES for name in family.__all__]
)
