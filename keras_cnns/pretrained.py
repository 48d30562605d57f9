"""ImageNet weights: keras.applications' released files, in Keras' own download cache.

``create_model(name, weights="imagenet")`` (or ``keras_cnns.<name>(weights="imagenet")``)
works for every variant with a ``keras_application`` (``list_models(pretrained=True)``):

1. builds our model with the options asked for;
2. finds keras.applications' weight file for those options in Keras' cache
   (``$KERAS_HOME/models``, by default ``~/.keras/models``), checking its MD5, or
   downloads it there with ``keras.utils.get_file``;
3. loads it into the keras.applications model and copies the weights over
   (``keras_cnns.applications.transfer_weights``): the same function, exactly.

Offline with no cached file, step 2 fails at once (a 10-second probe at most) with a
message naming the file to download and where to put it. ``weights`` may also be the
path of a keras.applications ``.h5`` file you already have.
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings

import keras

from keras_cnns.models import model_info

STORE = "https://storage.googleapis.com/tensorflow/keras-applications/"
#: Seconds to wait for the weight store before declaring the machine offline.
PROBE_TIMEOUT = 10

#: keras.applications constructor -> ((file, MD5) with the classifier, (file, MD5) without),
#: under STORE. The MD5s are keras.applications' own.
FILES = {
    "VGG16": (
        ("vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
        ("vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    ),
    "VGG19": (
        ("vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"),
        ("vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"),
    ),
    "ResNet50": (
        ("resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107"),
        ("resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626"),
    ),
    "ResNet101": (
        ("resnet/resnet101_weights_tf_dim_ordering_tf_kernels.h5", "f1aeb4b969a6efcfb50fad2f0c20cfc5"),
        ("resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5", "88cf7a10940856eca736dc7b7e228a21"),
    ),
    "ResNet152": (
        ("resnet/resnet152_weights_tf_dim_ordering_tf_kernels.h5", "100835be76be38e30d865e96f2aaae62"),
        ("resnet/resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    ),
    "InceptionV3": (
        ("inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "9a0d58056eeedaa3f26cb7ebd46da564"),
        ("inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "bcbd6486424b2319ff4ef7d526e38f63"),
    ),
    "InceptionResNetV2": (
        ("inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5", "e693bd0210a403b3192acc6073ad2e96"),
        ("inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5", "d19885ff4a710c122648d3b5c3b684e4"),
    ),
    "DenseNet121": (
        ("densenet/densenet121_weights_tf_dim_ordering_tf_kernels.h5", "9d60b8095a5708f2dcce2bca79d332c7"),
        ("densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "30ee3e1110167f948a6b9946edeeb738"),
    ),
    "DenseNet169": (
        ("densenet/densenet169_weights_tf_dim_ordering_tf_kernels.h5", "d699b8f76981ab1b30698df4c175e90b"),
        ("densenet/densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5", "b8c4d4c20dd625c148057b9ff1c1176b"),
    ),
    "DenseNet201": (
        ("densenet/densenet201_weights_tf_dim_ordering_tf_kernels.h5", "1ceb130c1ea1b78c3bf6114dbdfd8807"),
        ("densenet/densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5", "c13680b51ded0fb44dff2d8f86ac8bb1"),
    ),
}
#: MobileNets: one file per width and training resolution (keras.applications publishes
#: no MD5 for them). Other input sizes get the 224 weights, as in keras.applications.
MOBILENET = {
    "MobileNet": dict(
        alphas={0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"},
        sizes=(128, 160, 192, 224),
        files=("mobilenet/mobilenet_{alpha}_{size}_tf.h5", "mobilenet/mobilenet_{alpha}_{size}_tf_no_top.h5"),
    ),
    "MobileNetV2": dict(
        alphas={a: str(a) for a in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)},
        sizes=(96, 128, 160, 192, 224),
        files=(
            "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}.h5",
            "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5",
        ),
    ),
}
#: Constructors whose classifier flattens a fixed-size map: weights only at 224x224.
FIXED_SIZE_TOP = ("VGG16", "VGG19")


def is_keras_applications_weights(weights):
    """True for "imagenet" and for a legacy ``.h5`` file (keras.applications' format);
    False for None and for Keras 3 ``.weights.h5`` files, which ``load_weights`` reads."""
    if weights == "imagenet":
        return True
    if not isinstance(weights, (str, os.PathLike)):
        return False
    path = os.fspath(weights)
    return path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5")


def weights_file(constructor, include_top=True, alpha=1.0, input_shape=(224, 224, 3)):
    """keras.applications' weight file for a configuration: ``(file name, URL, MD5 or None)``.

    >>> weights_file("ResNet50", include_top=False)[0]
    'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5'
    >>> weights_file("MobileNetV2", alpha=0.35, input_shape=(96, 96, 3))[0]
    'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5'
    """
    if constructor in MOBILENET:
        spec = MOBILENET[constructor]
        if alpha not in spec["alphas"]:
            raise ValueError(
                f"keras.applications publishes ImageNet weights of {constructor} for alpha in "
                f"{sorted(spec['alphas'])}. Received: alpha={alpha}"
            )
        size = input_shape[0] if input_shape else None
        if size is None or input_shape[1] != size or size not in spec["sizes"]:
            warnings.warn(
                f"{constructor} ImageNet weights exist for square inputs of {spec['sizes']}; "
                f"loading those trained at 224x224. Received: input_shape={input_shape}",
                stacklevel=4,
            )
            size = 224
        path = spec["files"][0 if include_top else 1].format(alpha=spec["alphas"][alpha], size=size)
        md5 = None
    else:
        path, md5 = FILES[constructor][0 if include_top else 1]
    return os.path.basename(path), STORE + path, md5


def cache_dir():
    """Keras' cache folder: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when that
    is not writable), read at each call."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        os.makedirs(os.path.join(base, "models"), exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return base


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unreachable(url):
    """None if ``url`` answers, else why not (no DNS, no route, timeout, HTTP error)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=PROBE_TIMEOUT):
            return None
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} {e.reason}"
    except urllib.error.URLError as e:
        return str(e.reason)
    except OSError as e:
        return str(e)


def fetch(fname, url, md5=None):
    """The local path of a keras.applications weight file: cached, or downloaded now.

    Raises:
        OSError: the file is neither cached (with the right MD5) nor downloadable; the
            message says which file to place where.
    """
    base = cache_dir()
    path = os.path.join(base, "models", fname)
    problem = ""
    if os.path.isfile(path):
        if md5 is None or _md5(path) == md5:
            return path
        problem = f" The cached {path} is incomplete or corrupt (its MD5 is not {md5})."
    reason = unreachable(url)
    if reason is None:
        try:
            return keras.utils.get_file(fname, url, cache_subdir="models", cache_dir=base, file_hash=md5)
        except Exception as e:  # keras raises a bare Exception on URL errors
            reason = str(e)
    raise OSError(
        f"Cannot download the ImageNet weights {fname} ({reason}).{problem} Download {url} "
        f"and place it at {path} (Keras' cache: $KERAS_HOME/models, by default "
        f"~/.keras/models), or pass weights='/path/to/{fname}'."
    )


def _requested_shape(kwargs, default_size):
    """The input shape the builder will use, known before building."""
    if kwargs.get("input_tensor") is not None:
        return tuple(kwargs["input_tensor"].shape[1:])
    if kwargs.get("input_shape") is not None:
        return tuple(kwargs["input_shape"])
    size = default_size if kwargs.get("include_top", True) else None
    return (size, size, 3)


def build_pretrained(name, builder, kwargs):
    """Builds variant ``name`` with ``builder(**kwargs)`` and keras.applications weights.

    ``kwargs["weights"]`` is "imagenet" or the path of a keras.applications ``.h5``
    weight file. The weight file is found (or found missing) before anything is built.
    """
    from keras_cnns.applications import transfer_weights

    info = model_info(name)
    constructor = info.keras_application
    weights = kwargs["weights"]
    include_top = kwargs.get("include_top", True)
    shape = _requested_shape(kwargs, info.default_size)
    if len(shape) != 3 or shape[-1] != 3:
        raise ValueError(
            f"ImageNet weights of {name} are for RGB inputs (3 channels). Received: input_shape={shape}"
        )
    if include_top and constructor in FIXED_SIZE_TOP and shape[:2] != (224, 224):
        raise ValueError(
            f"With include_top=True, {name}'s ImageNet weights need input_shape (224, 224, 3) "
            f"(its classifier flattens a 7x7 map); use include_top=False for other sizes. "
            f"Received: input_shape={shape}"
        )
    classes = kwargs.get("num_classes", 1000)
    options = dict(include_top=include_top, classes=classes if include_top else 1000)
    if constructor in MOBILENET:
        options["alpha"] = kwargs.get("alpha", 1.0)
    if weights == "imagenet":
        if include_top and classes != 1000:
            raise ValueError(
                "ImageNet weights with include_top=True have 1000 classes; use "
                f"include_top=False for another head. Received: num_classes={classes}"
            )
        weights = fetch(*weights_file(constructor, include_top, options.get("alpha", 1.0), shape))
    elif not os.path.isfile(weights):
        raise ValueError(f"No weights file at that path. Received: weights={weights!r}")
    model = builder(**{**kwargs, "weights": None})
    options["input_shape"] = tuple(model.input_shape[1:])
    source = getattr(keras.applications, constructor)(weights=None, classifier_activation=None, **options)
    try:
        source.load_weights(weights)
    except Exception as e:
        raise ValueError(
            f"Cannot load {weights} into keras.applications.{constructor}"
            f"(include_top={include_top}, input_shape={options['input_shape']}): {e}"
        ) from e
    transfer_weights(source, model, constructor)
    return model
