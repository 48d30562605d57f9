"""VGG: torchvision meta (num_params, _ops) = keras.applications VGG16/VGG19; min 32 as Keras."""

from keras_cnns import layers as blocks

_DEPTHS = (11, 13, 16, 19)
PARAMS = {
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840,
    "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
}
TOTAL = {"vgg11_bn": 132_874_344, "vgg13_bn": 133_059_624, "vgg16_bn": 138_374_440, "vgg19_bn": 143_689_256}
MACS = {f"vgg{d}{bn}": m for d, m in zip(_DEPTHS, ("7.609", "11.308", "15.470", "19.632")) for bn in ("", "_bn")}
FEATURES = {f"vgg{d}{bn}": 512 for d in _DEPTHS for bn in ("", "_bn")}
MIN_SIZE = {"vgg16": 32}
SPATIAL = {"vgg16": {"block1": 112, "block2": 56, "block3": 28, "block4": 14, "block5": 7}}
BLOCKS = {
    # (27*8 + 8) + (72*8 + 8)
    "VGGStage": [(lambda: blocks.VGGStage(8, 2), (2, 8, 8, 3), (2, 4, 4, 8), 808)],
}

#: Depth: the configurations' "weight layers" (Table 1: 11, 13, 16, 19); batch norm adds none.
DEPTH = {f"vgg{n}{bn}": n for n in (11, 13, 16, 19) for bn in ("", "_bn")}
