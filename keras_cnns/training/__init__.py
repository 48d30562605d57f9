"""Training: recipes, configuration, strategies, schedules, callbacks and the run itself.

``python train.py --arch NAME`` is ``train(resolve(options))``:

>>> from keras_cnns.training import resolve
>>> config = resolve({"arch": "googlenet"})
>>> config.dataset, config.recipe, config.optimizer, config.image_size, config.epochs
('digits', 'quick', 'adamw', 64, 10)
>>> resolve({"arch": "resnet50", "dataset": "tfds:imagenet2012"}).lr
0.1
"""

from keras_cnns.training import recipes, schedules
from keras_cnns.training.config import TrainConfig, resolve
from keras_cnns.training.run import NanLossError, train

__all__ = ["NanLossError", "TrainConfig", "recipes", "resolve", "schedules", "train"]
