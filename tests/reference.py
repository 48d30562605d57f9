"""Numbers from outside the project, with their sources.

PARAMS: trainable parameters at 1000 classes and the default input, equal to
torchvision's ``meta["num_params"]`` where torchvision has the model (alexnet_owt, vgg*,
resnet*, resnext50_32x4d, resnext101_32x8d), to keras.applications' trainable count
where Keras has it with the same structure (vgg16, vgg19), and to the papers' layer
specifications otherwise (alexnet: Caffe bvlc_alexnet; zfnet: Fig. 3). Listed in the
foundation issue and in shared/reference/architectures.md.

TOTAL: ``count_params()`` (trainable + batch-norm moving statistics), the "Keras total"
column of the reference table.

MACS: multiply-adds in G at the default input: torchvision's ``_ops`` (alexnet_owt,
vgg*, resnext*, and resnet* v1.5), keras.applications' ResNet (v1, 3.858 / 7.570 /
11.282), and the paper-layout computations of the issue (alexnet 0.724, zfnet 1.168).
"""

PARAMS = {
    "alexnet": 60_965_224,
    "alexnet_owt": 61_100_840,
    "zfnet": 62_357_608,
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840,
    "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x4d": 44_177_704,
    "resnext101_32x8d": 88_791_336,
}

TOTAL = {
    "vgg11_bn": 132_874_344,
    "vgg13_bn": 133_059_624,
    "vgg16_bn": 138_374_440,
    "vgg19_bn": 143_689_256,
    "resnet18": 11_699_112,
    "resnet34": 21_814_696,
    "resnet50": 25_610_152,
    "resnet101": 44_654_504,
    "resnet152": 60_344_232,
    "resnext50_32x4d": 25_097_128,
    "resnext101_32x4d": 44_315_560,
    "resnext101_32x8d": 88_994_216,
}

MACS = {
    "alexnet": 0.724,
    "alexnet_owt": 0.714,
    "zfnet": 1.168,
    "vgg11": 7.609,
    "vgg13": 11.308,
    "vgg16": 15.470,
    "vgg19": 19.632,
    "vgg11_bn": 7.609,
    "vgg13_bn": 11.308,
    "vgg16_bn": 15.470,
    "vgg19_bn": 19.632,
    "resnet18": 1.814,
    "resnet34": 3.664,
    "resnet50": 3.858,
    "resnet101": 7.570,
    "resnet152": 11.282,
    "resnext50_32x4d": 4.230,
    "resnext101_32x4d": 7.970,
    "resnext101_32x8d": 16.414,
}

#: torchvision's ResNets are v1.5 (stride in the 3x3): its ``_ops`` for them.
MACS_V1_5 = {"resnet50": 4.089, "resnet101": 7.801, "resnet152": 11.514}

#: Channels of the pooled features (include_top=False, pooling="avg").
FEATURES = {
    "alexnet": 256,
    "alexnet_owt": 256,
    "zfnet": 256,
    **{f"vgg{d}{bn}": 512 for d in (11, 13, 16, 19) for bn in ("", "_bn")},
    "resnet18": 512,
    "resnet34": 512,
    **{n: 2048 for n in ("resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x4d", "resnext101_32x8d")},
}

#: Smallest input: torchvision's ``min_size`` for its AlexNet (63); keras.applications'
#: 32 for VGG and ResNet; the paper layouts computed in the issue's spatial sizes.
MIN_SIZE = {"alexnet_owt": 63, "vgg16": 32, "resnet50": 32}

#: Spatial sizes from the papers' tables at the default input.
SPATIAL = {
    # AlexNet (the 55 -> 27 -> 27 -> 13 -> 13 -> 13 -> 13 -> 6).
    "alexnet": {"conv1": 55, "pool1": 27, "conv2": 27, "pool2": 13, "conv3": 13, "conv4": 13, "conv5": 13, "pool5": 6},
    # ZFNet Fig. 3: 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 13 -> 6.
    "zfnet": {"conv1": 110, "pool1": 55, "conv2": 26, "pool2": 13, "conv3": 13, "conv4": 13, "conv5": 13, "pool5": 6},
    # VGG: 224 halved by each stage.
    "vgg16": {"block1": 112, "block2": 56, "block3": 28, "block4": 14, "block5": 7},
    # ResNet Table 1 output sizes.
    "resnet50": {"conv1": 112, "pool1": 56, "conv2_block3": 56, "conv3_block4": 28, "conv4_block6": 14, "conv5_block3": 7},
    "resnet18": {"conv1": 112, "pool1": 56, "conv2_block2": 56, "conv3_block2": 28, "conv4_block2": 14, "conv5_block2": 7},
}
