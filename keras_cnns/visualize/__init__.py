"""See inside a network: its first filters, its feature maps, Grad-CAM and occlusion.

ZFNet (Zeiler and Fergus, 2014) looked inside AlexNet this way: its first-layer filters
showed dead and high-frequency filters (hence ZFNet's 7x7 stride-2 first layer), and
covering parts of an image with a grey square showed which parts the class depends on.

>>> import keras_cnns
>>> from keras_cnns import visualize
>>> model = keras_cnns.create_model("lenet5", input_shape=(16, 16, 1))
>>> view = visualize.filters(model)
>>> view.layer, view.kernels.shape
('c1/conv', (6, 5, 5, 1))

``features(model, image)``, ``gradcam(model, image)`` and ``occlusion(model, image)``
take one preprocessed image (height, width, channels); the heatmaps come back at its
height and width, in [0, 1]. ``python -m keras_cnns visualize`` draws them as PNG files
(``keras_cnns.visualize.command``).
"""

from keras_cnns.visualize.maps import (
    FeatureMaps,
    Filters,
    Occlusion,
    feature_layers,
    features,
    filters,
    gradcam,
    gradcam_layer,
    occlusion,
    occlusion_scan,
    probabilities,
)

__all__ = [
    "FeatureMaps",
    "Filters",
    "Occlusion",
    "feature_layers",
    "features",
    "filters",
    "gradcam",
    "gradcam_layer",
    "occlusion",
    "occlusion_scan",
    "probabilities",
]
