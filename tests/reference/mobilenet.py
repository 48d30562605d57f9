"""MobileNet v1 and MobileNetV2.

PARAMS / TOTAL / MACS: keras.applications ``MobileNet`` and ``MobileNetV2`` (weights=None,
224, 1000 classes), computed, as listed in shared/reference/architectures.md (table 1 and
table 2); MobileNetV2 1.0 equals torchvision's ``MobileNet_V2_Weights`` meta (3,504,872
parameters, 0.301 GFLOPS). The multiply-adds are the papers' own: v1 Table 6 (569 / 325 /
149 / 41 M), v2 Table 4 (300 M; 585 M for 1.4, Keras' layout gives 582 M). The v2 paper's
"6.9M" for alpha=1.4 is reproduced by no implementation (architectures.md note 10).
SPATIAL: Table 1 of the v1 paper and Table 2 of the v2 paper (112, 56, 28, 14, 7).
"""

from keras_cnns import layers as blocks

#: Per width multiplier: (trainable, count_params(), MACs in G), keras.applications.
BY_ALPHA = {
    "mobilenet": {
        1.0: (4_231_976, 4_253_864, "0.569"),
        0.75: (2_585_560, 2_601_976, "0.325"),
        0.5: (1_331_592, 1_342_536, "0.149"),
        0.25: (470_072, 475_544, "0.041"),
    },
    "mobilenet_v2": {
        1.0: (3_504_872, 3_538_984, "0.301"),
        1.4: (6_108_776, 6_156_712, "0.582"),
    },
}
#: Widths keras.applications offers beyond the published ones (compared with Keras only).
KERAS_ONLY_ALPHAS = {"mobilenet": (0.6,), "mobilenet_v2": (0.35, 0.5, 0.75, 1.3)}

PARAMS = {name: table[1.0][0] for name, table in BY_ALPHA.items()}
TOTAL = {name: table[1.0][1] for name, table in BY_ALPHA.items()}
MACS = {name: table[1.0][2] for name, table in BY_ALPHA.items()}
FEATURES = {"mobilenet": 1024, "mobilenet_v2": 1280}
MIN_SIZE = {"mobilenet": 32, "mobilenet_v2": 32}  # keras.applications' minimum
SPATIAL = {
    "mobilenet": {"conv1": 112, "block_1": 112, "block_3": 56, "block_5": 28, "block_11": 14, "block_13": 7},
    "mobilenet_v2": {
        "conv1": 112,
        "block_0": 112,
        "block_2": 56,
        "block_5": 28,
        "block_9": 14,
        "block_12": 14,
        "block_15": 7,
        "block_16": 7,
        "conv_last": 7,
    },
}
BLOCKS = {
    "DepthwiseSeparableBlock": [
        # depthwise 3*3*4 = 36, BN 2*4; pointwise 4*8 = 32, BN 2*8: 36 + 8 + 32 + 16
        (lambda: blocks.DepthwiseSeparableBlock(8, strides=2), (2, 8, 8, 4), (2, 4, 4, 8), 92),
        # depth_multiplier 2: depthwise 3*3*3*2 = 54, BN 2*6; pointwise 6*5 = 30, BN 2*5: 54 + 12 + 30 + 10
        # (odd input at stride 2: padded to 8 at the bottom/right, then valid: 3)
        (lambda: blocks.DepthwiseSeparableBlock(5, strides=2, depth_multiplier=2), (2, 7, 7, 3), (2, 3, 3, 5), 106),
    ],
    "InvertedResidualBlock": [
        # residual: expand 8*48 = 384, BN 96; depthwise 9*48 = 432, BN 96; project 48*8 = 384, BN 16
        (lambda: blocks.InvertedResidualBlock(8), (2, 6, 6, 8), (2, 6, 6, 8), 1408),
        # expansion 1, no expand: depthwise 9*8 = 72, BN 16; project 8*16 = 128, BN 32 ("same": 7 -> 4)
        (lambda: blocks.InvertedResidualBlock(16, strides=2, expansion=1), (2, 7, 7, 8), (2, 4, 4, 16), 248),
    ],
}

#: Depth: "Counting depthwise and pointwise convolutions as separate layers, MobileNet has
#: 28 layers" (MobileNet, Section 3.2); MobileNetV2 is 53 deep (Keras' and MATLAB's docs).
DEPTH = {"mobilenet": 28, "mobilenet_v2": 53}
