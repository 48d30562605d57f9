"""Inception-v4 and Inception-ResNet v1 / v2 (Szegedy, Ioffe, Vanhoucke, Alemi, 2016).

PARAMS / TOTAL / MACS: shared/reference/architectures.md, master table: inception_v4 =
timm's 42.68 M (TF-slim layout, batch norm with scale), inception_resnet_v2 = timm's
55.84 M (keras.applications' 55,813,192 plus 30,272 batch-norm scales), and
inception_resnet_v1 computed from the paper's figures (no library has it). MIN_SIZE:
keras.applications.InceptionResNetV2 (``min_size=75``). SPATIAL: the grid sizes printed
in the paper's Figs. 3, 9, 14 and 15 (149, 147, 73, 71, 35, 17, 8).

BLOCKS counts trainable weights by hand: a ConvBNAct of a kh x kw kernel from cin to
cout channels has ``kh * kw * cin * cout`` weights plus ``2 * cout`` (batch-norm gamma
and beta), see ``_cbn``; the residual up-projection is a biased 1x1 convolution
(``cin * cout + cout``); pooling has no weights.
"""

from keras_cnns import layers as blocks


def _cbn(kh, kw, cin, cout):
    """Trainable weights of conv (no bias) + batch norm with scale and offset."""
    return kh * kw * cin * cout + 2 * cout


PARAMS = {
    "inception_v4": 42_679_816,
    "inception_resnet_v1": 22_756_328,
    "inception_resnet_v2": 55_843_464,
}
TOTAL = {
    "inception_v4": 42_742_984,
    "inception_resnet_v1": 22_783_368,
    "inception_resnet_v2": 55_904_008,
}
#: Trainable parameters without the batch-norm scale (TF-slim, keras.applications).
PARAMS_NO_BN_SCALE = {
    "inception_v4": 42_648_232,  # TF-slim; OpenVINO googlenet-v4-tf "42.648 MParams"
    "inception_resnet_v1": 22_742_808,
    "inception_resnet_v2": 55_813_192,  # keras.applications.InceptionResNetV2
}
MACS = {
    "inception_v4": "12.254",
    "inception_resnet_v1": "6.206",
    "inception_resnet_v2": "13.156",
}
FEATURES = {"inception_v4": 1536, "inception_resnet_v1": 1792, "inception_resnet_v2": 1536}
MIN_SIZE = {"inception_resnet_v2": 75}
SPATIAL = {
    "inception_v4": {"stem": 35, "mixed_5e": 35, "mixed_6a": 17, "mixed_6h": 17, "mixed_7a": 8, "mixed_7d": 8},
    "inception_resnet_v1": {"stem": 35, "block35_5": 35, "mixed_6a": 17, "block17_10": 17, "mixed_7a": 8, "block8_5": 8},
    "inception_resnet_v2": {
        "conv2d_1a": 149,
        "conv2d_2a": 147,
        "conv2d_2b": 147,
        "maxpool_3a": 73,
        "conv2d_3b": 73,
        "conv2d_4a": 71,
        "maxpool_5a": 35,
        "mixed_5b": 35,
        "mixed_6a": 17,
        "mixed_7a": 8,
        "conv_7b": 8,
    },
}
#: Channels at the three grids at 299 (paper Figs. 3, 7, 8, 9 and 12, 14, 15).
GRIDS = {
    "inception_v4": {"stem": (35, 384), "mixed_6a": (17, 1024), "mixed_7a": (8, 1536)},
    "inception_resnet_v1": {"stem": (35, 256), "mixed_6a": (17, 896), "mixed_7a": (8, 1792)},
}

BLOCKS = {
    "InceptionV4Stem": [
        # 75 -> 37 -> 35 -> 35 -> 17 (mixed_3a) -> 15 (mixed_4a) -> 7 (mixed_5a)
        (
            lambda: blocks.InceptionV4Stem(),
            (2, 75, 75, 3),
            (2, 7, 7, 384),
            _cbn(3, 3, 3, 32) + _cbn(3, 3, 32, 32) + _cbn(3, 3, 32, 64)
            + _cbn(3, 3, 64, 96)  # mixed_3a (the pool adds 64 channels: 160)
            + _cbn(1, 1, 160, 64) + _cbn(3, 3, 64, 96)
            + _cbn(1, 1, 160, 64) + _cbn(1, 7, 64, 64) + _cbn(7, 1, 64, 64) + _cbn(3, 3, 64, 96)
            + _cbn(3, 3, 192, 192),  # mixed_5a
        ),
    ],
    "InceptionV4A": [
        (
            lambda: blocks.InceptionV4A(),
            (2, 5, 5, 8),
            (2, 5, 5, 384),
            _cbn(1, 1, 8, 96)
            + _cbn(1, 1, 8, 64) + _cbn(3, 3, 64, 96)
            + _cbn(1, 1, 8, 64) + _cbn(3, 3, 64, 96) + _cbn(3, 3, 96, 96)
            + _cbn(1, 1, 8, 96),
        ),
    ],
    "InceptionV4B": [
        (
            lambda: blocks.InceptionV4B(),
            (2, 4, 4, 8),
            (2, 4, 4, 1024),
            _cbn(1, 1, 8, 384)
            + _cbn(1, 1, 8, 192) + _cbn(1, 7, 192, 224) + _cbn(7, 1, 224, 256)
            + _cbn(1, 1, 8, 192) + _cbn(7, 1, 192, 192) + _cbn(1, 7, 192, 224) + _cbn(7, 1, 224, 224) + _cbn(1, 7, 224, 256)
            + _cbn(1, 1, 8, 128),
        ),
    ],
    "InceptionV4C": [
        (
            lambda: blocks.InceptionV4C(),
            (2, 3, 3, 8),
            (2, 3, 3, 1536),
            _cbn(1, 1, 8, 256)
            + _cbn(1, 1, 8, 384) + _cbn(1, 3, 384, 256) + _cbn(3, 1, 384, 256)
            + _cbn(1, 1, 8, 384) + _cbn(3, 1, 384, 448) + _cbn(1, 3, 448, 512) + _cbn(1, 3, 512, 256) + _cbn(3, 1, 512, 256)
            + _cbn(1, 1, 8, 256),
        ),
    ],
    "ReductionA": [
        # n + m + input channels = 10 + 8 + 5
        (
            lambda: blocks.ReductionA(4, 6, 8, 10),
            (2, 9, 9, 5),
            (2, 4, 4, 23),
            _cbn(3, 3, 5, 10) + _cbn(1, 1, 5, 4) + _cbn(3, 3, 4, 6) + _cbn(3, 3, 6, 8),
        ),
        # Inception-ResNet-v2's mixed_6a without the scale: 384 + 384 + 16 channels
        (
            lambda: blocks.ReductionA(256, 256, 384, 384, norm_scale=False),
            (2, 7, 7, 16),
            (2, 3, 3, 784),
            (9 * 16 * 384 + 384) + (16 * 256 + 256) + (9 * 256 * 256 + 256) + (9 * 256 * 384 + 384),
        ),
        # Inception-v4's Table 1 widths at width_multiplier 0.25: k, l, m, n = 48, 56,
        # 64, 96; channels 96 + 64 + 5
        (
            lambda: blocks.ReductionA(192, 224, 256, 384, width_multiplier=0.25),
            (2, 9, 9, 5),
            (2, 4, 4, 165),
            _cbn(3, 3, 5, 96) + _cbn(1, 1, 5, 48) + _cbn(3, 3, 48, 56) + _cbn(3, 3, 56, 64),
        ),
    ],
    "InceptionV4ReductionB": [
        # 192 + 320 + input channels
        (
            lambda: blocks.InceptionV4ReductionB(),
            (2, 7, 7, 8),
            (2, 3, 3, 520),
            _cbn(1, 1, 8, 192) + _cbn(3, 3, 192, 192)
            + _cbn(1, 1, 8, 256) + _cbn(1, 7, 256, 256) + _cbn(7, 1, 256, 320) + _cbn(3, 3, 320, 320),
        ),
    ],
    "InceptionResNetV1Stem": [
        # 75 -> 37 -> 35 -> 35 -> 17 (pool) -> 17 -> 15 -> 7
        (
            lambda: blocks.InceptionResNetV1Stem(),
            (2, 75, 75, 3),
            (2, 7, 7, 256),
            _cbn(3, 3, 3, 32) + _cbn(3, 3, 32, 32) + _cbn(3, 3, 32, 64)
            + _cbn(1, 1, 64, 80) + _cbn(3, 3, 80, 192) + _cbn(3, 3, 192, 256),
        ),
    ],
    "InceptionResNetV2Mixed5b": [
        (
            lambda: blocks.InceptionResNetV2Mixed5b(),
            (2, 5, 5, 8),
            (2, 5, 5, 320),
            _cbn(1, 1, 8, 96)
            + _cbn(1, 1, 8, 48) + _cbn(5, 5, 48, 64)
            + _cbn(1, 1, 8, 64) + _cbn(3, 3, 64, 96) + _cbn(3, 3, 96, 96)
            + _cbn(1, 1, 8, 64),
        ),
    ],
    "InceptionResNetReductionB": [
        # 6 + 5 + 7 + input channels
        (
            lambda: blocks.InceptionResNetReductionB(((4, 6), (4, 5), (4, 5, 7))),
            (2, 9, 9, 3),
            (2, 4, 4, 21),
            _cbn(1, 1, 3, 4) + _cbn(3, 3, 4, 6)
            + _cbn(1, 1, 3, 4) + _cbn(3, 3, 4, 5)
            + _cbn(1, 1, 3, 4) + _cbn(3, 3, 4, 5) + _cbn(3, 3, 5, 7),
        ),
    ],
    "InceptionResNetA": [
        # up-projection from 4 + 6 + 8 = 18 concatenated channels back to 10, with bias
        (
            lambda: blocks.InceptionResNetA(((4,), (4, 6), (4, 6, 8))),
            (2, 5, 5, 10),
            (2, 5, 5, 10),
            _cbn(1, 1, 10, 4)
            + _cbn(1, 1, 10, 4) + _cbn(3, 3, 4, 6)
            + _cbn(1, 1, 10, 4) + _cbn(3, 3, 4, 6) + _cbn(3, 3, 6, 8)
            + (18 * 10 + 10),
        ),
        # Inception-ResNet-v2's block35 (keras.applications' layout), 32 + 32 + 64 -> 320
        (
            lambda: blocks.InceptionResNetA(),
            (2, 4, 4, 320),
            (2, 4, 4, 320),
            _cbn(1, 1, 320, 32)
            + _cbn(1, 1, 320, 32) + _cbn(3, 3, 32, 32)
            + _cbn(1, 1, 320, 32) + _cbn(3, 3, 32, 48) + _cbn(3, 3, 48, 64)
            + (128 * 320 + 320),
        ),
        # block35 at width_multiplier 0.5: 32 -> 16, 48 -> 24, 64 -> 32; the up-projection
        # is not scaled: it goes from 16 + 16 + 32 = 64 back to the 20 input channels
        (
            lambda: blocks.InceptionResNetA(width_multiplier=0.5),
            (2, 4, 4, 20),
            (2, 4, 4, 20),
            _cbn(1, 1, 20, 16)
            + _cbn(1, 1, 20, 16) + _cbn(3, 3, 16, 16)
            + _cbn(1, 1, 20, 16) + _cbn(3, 3, 16, 24) + _cbn(3, 3, 24, 32)
            + (64 * 20 + 20),
        ),
    ],
    "InceptionResNetB": [
        (
            lambda: blocks.InceptionResNetB(((6,), (4, 5, 7)), scale=0.5),
            (2, 5, 5, 12),
            (2, 5, 5, 12),
            _cbn(1, 1, 12, 6) + _cbn(1, 1, 12, 4) + _cbn(1, 7, 4, 5) + _cbn(7, 1, 5, 7) + (13 * 12 + 12),
        ),
    ],
    "InceptionResNetC": [
        # the released v2's last block8: scale 1, no activation after the sum
        (
            lambda: blocks.InceptionResNetC(((6,), (4, 5, 7)), scale=1.0, output_activation=None),
            (2, 3, 3, 12),
            (2, 3, 3, 12),
            _cbn(1, 1, 12, 6) + _cbn(1, 1, 12, 4) + _cbn(1, 3, 4, 5) + _cbn(3, 1, 5, 7) + (13 * 12 + 12),
        ),
    ],
}
