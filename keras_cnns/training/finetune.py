"""Fine-tuning from pretrained weights: the frozen phase, frozen batch norm, the
backbone's learning-rate scale.

``train.py --weights W`` starts from weights (a tag of the architecture, a Keras file
or a run folder); the classifier is freshly initialized when the dataset has other
classes. Then:

- ``--freeze-epochs N``: for the first N epochs only the classifier (and auxiliary
  classifiers) train; every other layer is frozen: not trainable, its batch norm in
  inference mode (Keras 3's ``BatchNormalization`` uses its moving statistics when not
  trainable). ``-1`` keeps it frozen for the whole run: a linear probe.
- ``--backbone-lr-scale S``: after unfreezing, the backbone's weights learn at S times
  the learning rate (timm's and the Model Garden's smaller backbone rate).
- ``--bn-frozen``: every batch-norm layer stays in inference mode, with its scale and
  offset fixed, for the whole run (keras.io's transfer-learning guide): small batches
  then never replace the pretrained statistics.

The optimizer is built once over every weight that will ever train, so its state
carries across the unfreezing and a resumed run restores it whatever the phase.
"""

import keras

from keras_cnns.weights import classifier_layer
from keras_cnns.weights.base import main_weights, weight_leaves


def head_paths(model):
    """The paths of the weights that are not the backbone's: the classifier's and those
    of auxiliary classifiers (not on the main output's path)."""
    main = main_weights(model)
    return {v.path for v in classifier_layer(model).weights} | {v.path for v in model.weights if v.path not in main}


def set_trainable(model, *, backbone, bn_frozen):
    """Sets each weight-holding layer's ``trainable``: the backbone's (every layer but
    the classifiers) to ``backbone``, batch norm always False with ``bn_frozen``.

    Layers that contain others keep ``trainable=True`` (a container that is not
    trainable hides the trainable weights of all its layers), so a classifier nested in
    a head block can train while the head's hidden layers are frozen.

    Returns:
        The number of weights left trainable.
    """
    head = head_paths(model)
    for layer in weight_leaves(model):
        trainable = backbone or all(v.path in head for v in layer.weights)
        if bn_frozen and isinstance(layer, keras.layers.BatchNormalization):
            trainable = False
        layer.trainable = trainable
    return len(model.trainable_weights)


def phases(config):
    """``[(first epoch, stop epoch, backbone frozen), ...]`` covering the run's epochs."""
    frozen = config.epochs if config.freeze_epochs == -1 else min(config.freeze_epochs or 0, config.epochs)
    listed = [(0, frozen, True), (frozen, config.epochs, False)]
    return [phase for phase in listed if phase[0] < phase[1]]


class BackboneScaledLR:
    """Mixin of a Keras optimizer whose backbone weights learn at ``backbone_lr_scale``
    times the learning rate; the weights named in ``head`` learn at the full rate.

    The scale multiplies the learning rate inside ``update_step``, so it holds for every
    update rule (SGD, RMSProp, Adam); AdamW's decoupled weight decay keeps the base rate.
    """

    def __init__(self, *args, backbone_lr_scale=1.0, head=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.backbone_lr_scale = float(backbone_lr_scale)
        self.head = tuple(sorted(head))
        self._scales = []

    def build(self, variables):
        super().build(variables)
        head = set(self.head)
        self._scales = [1.0 if v.path in head else self.backbone_lr_scale for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        scale = self._scales[self._get_variable_index(variable)]
        if scale != 1.0:
            learning_rate = keras.ops.multiply(learning_rate, scale)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "backbone_lr_scale": self.backbone_lr_scale, "head": list(self.head)}


@keras.saving.register_keras_serializable("keras_cnns")
class ScaledSGD(BackboneScaledLR, keras.optimizers.SGD):
    """SGD with a learning-rate scale on the backbone (``BackboneScaledLR``)."""


@keras.saving.register_keras_serializable("keras_cnns")
class ScaledRMSprop(BackboneScaledLR, keras.optimizers.RMSprop):
    """RMSprop with a learning-rate scale on the backbone (``BackboneScaledLR``)."""


@keras.saving.register_keras_serializable("keras_cnns")
class ScaledAdam(BackboneScaledLR, keras.optimizers.Adam):
    """Adam with a learning-rate scale on the backbone (``BackboneScaledLR``)."""


@keras.saving.register_keras_serializable("keras_cnns")
class ScaledAdamW(BackboneScaledLR, keras.optimizers.AdamW):
    """AdamW with a learning-rate scale on the backbone (``BackboneScaledLR``)."""


SCALED = {
    keras.optimizers.SGD: ScaledSGD,
    keras.optimizers.RMSprop: ScaledRMSprop,
    keras.optimizers.Adam: ScaledAdam,
    keras.optimizers.AdamW: ScaledAdamW,
}
