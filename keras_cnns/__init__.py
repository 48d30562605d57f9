"""keras_cnns: the classic convolutional networks in Keras 3, exact to their papers.

>>> import keras_cnns
>>> keras_cnns.list_models("resnet*")  # ImageNet's, and the CIFAR-10 ResNets (resnet20 ... resnet1202)
['resnet18', 'resnet20', 'resnet32', 'resnet34', 'resnet44', 'resnet50', 'resnet56', 'resnet101', 'resnet110', 'resnet152', 'resnet1202']
>>> model = keras_cnns.create_model("resnet50", num_classes=10)
>>> keras_cnns.model_info("resnet50").params
25557032
"""

__version__ = "0.1.0"

from keras_cnns import layers, visualize, weights
from keras_cnns.analysis import count_macs, format_report, model_report
from keras_cnns.fold import fold_batch_norm
from keras_cnns.imagenet import decode_predictions, preprocess_input
from keras_cnns.models import *  # noqa: F401,F403
from keras_cnns.models import (
    create_model,
    from_caffemodel,
    from_keras_applications,
    from_pretrainedmodels,
    from_pretrainedmodels_state_dict,
    from_timm,
    from_timm_state_dict,
    from_torchvision,
    from_torchvision_state_dict,
    list_models,
    model_info,
    register_model,
)
from keras_cnns.training import schedules as _schedules  # noqa: F401  (registers WarmupSchedule for load_model)

__all__ = [
    "count_macs",
    "create_model",
    "decode_predictions",
    "fold_batch_norm",
    "format_report",
    "from_caffemodel",
    "from_keras_applications",
    "from_pretrainedmodels",
    "from_pretrainedmodels_state_dict",
    "from_timm",
    "from_timm_state_dict",
    "from_torchvision",
    "from_torchvision_state_dict",
    "layers",
    "list_models",
    "model_info",
    "model_report",
    "preprocess_input",
    "register_model",
    "visualize",
    "weights",
    *list_models(),
]
