"""AlexNet, its torchvision layout, ZFNet.

alexnet: the paper's two-tower layout (= Caffe bvlc_alexnet); alexnet_owt: torchvision
``AlexNet_Weights.IMAGENET1K_V1`` meta (61,100,840, 0.714 GFLOPS, min_size 63); zfnet:
computed from Fig. 3 of the paper. Spatial sizes: the AlexNet issue's
55 -> 27 -> 27 -> 13 -> 13 -> 13 -> 13 -> 6 and ZFNet's Fig. 3.
"""

PARAMS = {"alexnet": 60_965_224, "alexnet_owt": 61_100_840, "zfnet": 62_357_608}
MACS = {"alexnet": "0.724", "alexnet_owt": "0.714", "zfnet": "1.168"}
FEATURES = {"alexnet": 256, "alexnet_owt": 256, "zfnet": 256}
MIN_SIZE = {"alexnet_owt": 63}
SPATIAL = {
    "alexnet": {"conv1": 55, "pool1": 27, "conv2": 27, "pool2": 13, "conv3": 13, "conv4": 13, "conv5": 13, "pool5": 6},
    "zfnet": {"conv1": 110, "pool1": 55, "conv2": 26, "pool2": 13, "conv3": 13, "conv4": 13, "conv5": 13, "pool5": 6},
}

#: Depth, as the papers count it (weight layers): AlexNet "contains eight learned layers"
#: (Section 3); ZFNet keeps that count (Fig. 3: 5 conv + 3 fully connected).
DEPTH = {"alexnet": 8, "alexnet_owt": 8, "zfnet": 8}
