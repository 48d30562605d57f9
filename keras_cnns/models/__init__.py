"""Model builders, one module per family, all reached through the registry.

Importing a family module registers its variants. As in torchvision, the builder
``alexnet`` shadows the module of the same name in this namespace.
"""

import sys

from keras_cnns.models._builder import inference_model
from keras_cnns.models.alexnet import *  # noqa: F401,F403
from keras_cnns.models.densenet import *  # noqa: F401,F403
from keras_cnns.models.googlenet import *  # noqa: F401,F403
from keras_cnns.models.inception_resnet import *  # noqa: F401,F403
from keras_cnns.models.inception_v3 import *  # noqa: F401,F403
from keras_cnns.models.inception_v4 import *  # noqa: F401,F403
from keras_cnns.models.lenet import *  # noqa: F401,F403
from keras_cnns.models.mobilenet import *  # noqa: F401,F403
from keras_cnns.models.nin import *  # noqa: F401,F403
from keras_cnns.models.registry import (
    IMAGENET_CAFFE,
    IMAGENET_INCEPTION,
    IMAGENET_RGB,
    ModelInfo,
    PaperError,
    Preprocessing,
    create_model,
    list_models,
    model_info,
    register_model,
)
from keras_cnns.models.resnet import *  # noqa: F401,F403
from keras_cnns.models.vgg import *  # noqa: F401,F403

_FAMILIES = [module for name, module in sys.modules.items() if name.startswith("keras_cnns.models.") and hasattr(module, "__all__")]
__all__ = sorted(
    [
        "IMAGENET_CAFFE",
        "IMAGENET_INCEPTION",
        "IMAGENET_RGB",
        "ModelInfo",
        "PaperError",
        "Preprocessing",
        "create_model",
        "inference_model",
        "list_models",
        "model_info",
        "register_model",
    ]
    + [name for family in _FAMILIES for name in family.__all__]
)
