"""Inception v3.

PARAMS / TOTAL: timm's inception_v3 and torchvision's Inception3 without AuxLogits
(23,834,568 trainable = 23.83 M in timm's results table; + 2 x 17,216 batch-norm moving
statistics), shared/reference/architectures.md. MACS: 5.713, keras.applications'
InceptionV3 computed (the same layout, BN has no multiply-adds) and torchvision's
``Inception_V3_Weights`` meta ``_ops``. AUX_*: torchvision's ``inception_v3`` with
AuxLogits, its ``num_params`` 27,161,264 and computed 5.719 GMACs. KERAS_PARAMS:
keras.applications.InceptionV3(weights=None), batch norm without scale. MIN_SIZE: 75, the
keras.applications minimum. SPATIAL: Table 1 of the paper (the grid sizes on which the
table and the released network agree; see the deviations in the registry metadata).
"""

from keras_cnns import layers as blocks

PARAMS = {"inception_v3": 23_834_568}
TOTAL = {"inception_v3": 23_869_000}
MACS = {"inception_v3": "5.713"}
FEATURES = {"inception_v3": 2048}
MIN_SIZE = {"inception_v3": 75}
SPATIAL = {
    "inception_v3": {
        "conv1a": 149,
        "conv2a": 147,
        "conv2b": 147,
        "pool3a": 73,
        "conv4a": 71,
        "pool5a": 35,
        "mixed2": 35,
        "mixed3": 17,
        "mixed7": 17,
        "mixed8": 8,
        "mixed10": 8,
    }
}

AUX_PARAMS = 27_161_264  # torchvision Inception_V3_Weights.IMAGENET1K_V1 num_params
AUX_TOTAL = 27_197_488
AUX_MACS = "5.719"
KERAS_PARAMS = 23_817_352  # keras.applications InceptionV3, trainable
BN_CHANNELS = 17_216  # the gamma keras.applications drops: 23,834,568 - 23,817,352

BLOCKS = {
    "InceptionV3A": [
        # mixed0 on a 5x5 grid. Kernels: 192*64 + 192*48 + 25*48*64 + 192*64 + 9*64*96
        # + 9*96*96 + 192*32 = 254,976; BN gamma+beta 2*(64+48+64+64+96+96+32) = 928.
        (lambda: blocks.InceptionV3A(32), (2, 5, 5, 192), (2, 5, 5, 256), 255_904),
        # Keras-style BN (beta only). Kernels 16*64 + 16*48 + 76,800 + 16*64 + 55,296
        # + 82,944 + 16*8 = 217,984; beta 64+48+64+64+96+96+8 = 440.
        (lambda: blocks.InceptionV3A(8, norm_scale=False), (2, 4, 4, 16), (2, 4, 4, 232), 218_424),
    ],
    "InceptionV3B": [
        # 9*16*384 + 16*64 + 9*64*96 + 9*96*96 = 194,560; BN 2*(384+64+96+96) = 1,280.
        # (7 - 3) // 2 + 1 = 3; channels 384 + 96 + 16 (the max-pooled input).
        (lambda: blocks.InceptionV3B(), (2, 7, 7, 16), (2, 3, 3, 496), 195_840),
    ],
    "InceptionV3C": [
        # c7 = 8: 16*192 + (16*8 + 7*8*8 + 7*8*192) + (16*8 + 3*7*8*8 + 7*8*192) + 16*192
        # = 29,696; BN 2*(192 + 8+8+192 + 8+8+8+8+192 + 192) = 1,632.
        (lambda: blocks.InceptionV3C(8), (2, 5, 5, 16), (2, 5, 5, 768), 31_328),
        # width_multiplier 0.25 (TF-slim's depth_multiplier, min_depth 16): c7 = 128 / 4
        # = 32, 192 / 4 = 48. Kernels 16*48 + (16*32 + 7*32*32 + 7*32*48) + (16*32
        # + 3*7*32*32 + 7*32*48) + 16*48 = 52,736; BN 2*(48 + 32+32+48 + 4*32+48 + 48)
        # = 768. Channels 4 * 48.
        (lambda: blocks.InceptionV3C(128, width_multiplier=0.25), (2, 5, 5, 16), (2, 5, 5, 192), 53_504),
    ],
    "InceptionV3D": [
        # 16*192 + 9*192*320 + 16*192 + 2*7*192*192 + 9*192*192 = 1,406,976;
        # BN 2*(192+320+192+192+192+192) = 2,560. Channels 320 + 192 + 16.
        (lambda: blocks.InceptionV3D(), (2, 7, 7, 16), (2, 3, 3, 528), 1_409_536),
    ],
    "InceptionV3E": [
        # 16*320 + 16*384 + 2*3*384*384 + 16*448 + 9*448*384 + 2*3*384*384 + 16*192
        # = 3,339,264; BN 2*(320 + 384*3 + 448 + 384*3 + 192) = 6,528.
        (lambda: blocks.InceptionV3E(), (2, 3, 3, 16), (2, 3, 3, 2048), 3_345_792),
    ],
    "InceptionV3Aux": [
        # torchvision's AuxLogits on mixed7 (logits): 768*128 + 25*128*768 + 768*1000
        # + 1000 + BN 2*(128+768) = 3,326,696 (27,161,264 - 23,834,568).
        (lambda: blocks.InceptionV3Aux(1000, classifier_activation=None), (2, 17, 17, 768), (2, 1000), 3_326_696),
        # 20 -> 6x6 pooled -> 2x2 after the 5x5 conv -> averaged: 8*128 + 25*128*768
        # + 768*5 + 5 + 1,792 = 2,464,261.
        (lambda: blocks.InceptionV3Aux(5, classifier_activation=None), (2, 20, 20, 8), (2, 5), 2_464_261),
        # width_multiplier 0.1: 128 -> int(12.8) = 12, floored at 16; 768 -> 76. The
        # classifier keeps its 5 classes: 8*16 + 2*16 + 25*16*76 + 2*76 + 76*5 + 5 = 31,097.
        (
            lambda: blocks.InceptionV3Aux(5, classifier_activation=None, width_multiplier=0.1),
            (2, 17, 17, 8),
            (2, 5),
            31_097,
        ),
    ],
}
