"""Network in Network (ImageNet) and LeNet-5.

nin: the authors' Caffe Model Zoo "NIN-Imagenet" (gist mavenlin/d802a5849de39225bcc6),
its train_val.prototxt worked out by hand: 7,595,176 parameters (the 29 MB caffemodel is
about 7.6 M float32 values) and 1.100 G multiply-adds with Caffe's ceil-mode pooling,
as in shared/reference/architectures.md. No batch norm, so count_params() equals the
trainable count. SPATIAL: Caffe's output sizes at a 224 crop, conv1
floor((224 - 11) / 4) + 1 = 54, pools ceil((n - 3) / 2) + 1: 27, 13, 6 (the 6x6 that
pool4's 6x6 average pooling covers).

lenet5: the modern form (full C3, weightless pooling, dense 120-84-10) of LeCun et al.
1998, Fig. 2: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters and
117,600 + 240,000 + 48,000 + 10,080 + 840 = 416,520 multiply-adds; the paper's own
network has 60,000 (architectures.md). Its default input is 32x32x1 and it has 10
classes (CHANNELS, NUM_CLASSES), unlike the ImageNet models.
"""

from keras_cnns import layers as blocks

PARAMS = {"nin": 7_595_176, "lenet5": 61_706}
MACS = {"nin": "1.100", "lenet5": "0.000417"}
FEATURES = {"nin": 1024, "lenet5": 16}
#: Input channels and classes of the builders' defaults, where they are not 3 and 1000.
CHANNELS = {"lenet5": 1}
NUM_CLASSES = {"lenet5": 10}
SPATIAL = {
    "nin": {"mlpconv1": 54, "pool1": 27, "mlpconv2": 27, "pool2": 13, "mlpconv3": 13, "pool3": 6, "mlpconv4": 6},
    "lenet5": {"c1": 28, "s2": 14, "c3": 10, "s4": 5},
}
#: Trainable parameters of each layer of NIN-Imagenet: (k*k*in + 1) * out.
NIN_LAYERS = {
    "mlpconv1": (34_944, 9_312, 9_312),  # 11*11*3*96 + 96; 96*96 + 96 twice
    "mlpconv2": (614_656, 65_792, 65_792),  # 5*5*96*256 + 256; 256*256 + 256 twice
    "mlpconv3": (885_120, 147_840, 147_840),  # 3*3*256*384 + 384; 384*384 + 384 twice
    "mlpconv4": (3_539_968, 1_049_600),  # 3*3*384*1024 + 1024; 1024*1024 + 1024
    "cccp8": (1_025_000,),  # 1024*1000 + 1000
}
#: Trainable parameters of LeNet-5's layers: C1, C3, C5 (fc1), F6 (fc2), output.
LENET5_LAYERS = {"c1": 156, "c3": 2_416, "fc1": 48_120, "fc2": 10_164, "predictions": 850}
BLOCKS = {
    "MLPConvBlock": [
        # 3x3 conv 3*3*4*8 + 8 = 296, two 1x1 convs 8*8 + 8 = 72 each
        (lambda: blocks.MLPConvBlock(8, 3, padding=1), (2, 6, 6, 4), (2, 6, 6, 8), 440),
        # 5x5/2 valid conv 5*5*2*6 + 6 = 306, 1x1 6*5 + 5 = 35, 1x1 5*3 + 3 = 18
        (
            lambda: blocks.MLPConvBlock((6, 5, 3), 5, strides=2, padding=0, last_activation=False),
            (2, 9, 9, 2),
            (2, 3, 3, 3),
            359,
        ),
    ],
}
