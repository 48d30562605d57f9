"""Model builders, one module per family, all reached through the registry."""

# Importing a family module registers its variants. As in torchvision, the function
# ``alexnet`` shadows the module of the same name in this namespace.
from keras_cnns.models.alexnet import AlexNet, alexnet, alexnet_owt, zfnet
from keras_cnns.models.registry import (
    IMAGENET_CAFFE,
    IMAGENET_RGB,
    ModelInfo,
    Preprocessing,
    create_model,
    list_models,
    model_info,
    register_model,
)
from keras_cnns.models.resnet import (
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    resnext101_32x4d,
    resnext101_32x8d,
)
from keras_cnns.models.vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "IMAGENET_CAFFE",
    "IMAGENET_RGB",
    "AlexNet",
    "ModelInfo",
    "Preprocessing",
    "ResNet",
    "VGG",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
    *list_models(),
]
