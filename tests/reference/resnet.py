"""ResNet and ResNeXt.

PARAMS: torchvision meta (resnet*, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d) and the reference
table's computation for resnext101_32x4d. MACS: keras.applications' ResNet (v1: 3.858 /
7.570 / 11.282), torchvision's ``_ops`` for ResNet-18/34 and ResNeXt (stride in the 3x3).
MACS_V1_5: torchvision's ``_ops`` for its v1.5 ResNets. SPATIAL: Table 1 of the paper.
"""

from keras_cnns import layers as blocks

PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x4d": 44_177_704,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
}
TOTAL = {
    "resnet18": 11_699_112,
    "resnet34": 21_814_696,
    "resnet50": 25_610_152,
    "resnet101": 44_654_504,
    "resnet152": 60_344_232,
    "resnext50_32x4d": 25_097_128,
    "resnext101_32x4d": 44_315_560,
    "resnext101_32x8d": 88_994_216,
    "resnext101_64x4d": 83_658_152,
}
MACS = {
    "resnet18": "1.814",
    "resnet34": "3.664",
    "resnet50": "3.858",
    "resnet101": "7.570",
    "resnet152": "11.282",
    "resnext50_32x4d": "4.230",
    "resnext101_32x4d": "7.970",
    "resnext101_32x8d": "16.414",
    "resnext101_64x4d": "15.46",
}
MACS_V1_5 = {"resnet50": "4.089", "resnet101": "7.801", "resnet152": "11.514"}
FEATURES = {name: 2048 for name in PARAMS} | {"resnet18": 512, "resnet34": 512}
MIN_SIZE = {"resnet50": 32}
SPATIAL = {
    "resnet50": {"conv1": 112, "pool1": 56, "conv2_block3": 56, "conv3_block4": 28, "conv4_block6": 14, "conv5_block3": 7},
    "resnet18": {"conv1": 112, "pool1": 56, "conv2_block2": 56, "conv3_block2": 28, "conv4_block2": 14, "conv5_block2": 7},
}
BLOCKS = {
    "BasicBlock": [
        # conv1 288 + conv2 576 + projection 32, and 3 batch norms of 8 channels (48)
        (lambda: blocks.BasicBlock(8, strides=2), (2, 8, 8, 4), (2, 4, 4, 8), 944),
        # identity shortcut: 2 * 3*3*8*8 + 2 * 16
        (lambda: blocks.BasicBlock(8), (2, 4, 4, 8), (2, 4, 4, 8), 1184),
        # option A (zero-padded identity) and no shortcut: no projection, conv 288 + 576, BN 32
        (lambda: blocks.BasicBlock(8, strides=2, shortcut="zero_pad"), (2, 7, 7, 4), (2, 4, 4, 8), 896),
        (lambda: blocks.BasicBlock(8, strides=2, shortcut=None), (2, 8, 8, 4), (2, 4, 4, 8), 896),
    ],
    "BottleneckBlock": [
        # conv1 6*8, conv2 3*3*(8/2)*8, conv3 8*16, projection 6*16; BN 2*(8+8+16+16)
        (lambda: blocks.BottleneckBlock(4, strides=2, groups=2, width=8), (2, 8, 8, 6), (2, 4, 4, 16), 656),
        # conv1 16*4, conv2 3*3*4*4, conv3 4*16, projection 16*16 (strided); BN 2*(4+4+16+16)
        (lambda: blocks.BottleneckBlock(4, strides=2, stride_in_3x3=True), (2, 7, 7, 16), (2, 4, 4, 16), 64 + 144 + 64 + 256 + 2 * (4 + 4 + 16 + 16)),
    ],
}

#: Depth: the names count the weight layers on the main path (ResNet Table 1; ResNeXt
#: Table 1 keeps ResNet's depths).
DEPTH = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101, "resnet152": 152,
         "resnext50_32x4d": 50, "resnext101_32x4d": 101, "resnext101_32x8d": 101,
         "resnext101_64x4d": 101}
