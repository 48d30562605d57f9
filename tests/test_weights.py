"""keras_cnns.weights: the shared download, cache and checksum, and the descriptors as
the families declare them.

The download runs against a local HTTP server serving generated files: the real code
path (probe, streamed download, checksum, atomic rename), without the internet.
"""

import functools
import hashlib
import http.server
import os
import threading

import pytest

import keras_cnns
from keras_cnns.weights import fetch


@pytest.fixture
def server(tmp_path):
    """An HTTP server on localhost serving ``tmp_path / "served"``; yields (folder, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    thread.join()


def _publish(served, name, data):
    (served / name).write_bytes(data)
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def test_a_file_is_downloaded_checked_and_then_served_from_the_cache(server, tmp_path):
    served, base = server
    data = os.urandom(3 << 20)  # several 1 MiB chunks
    md5, sha256 = _publish(served, "w-1234.bin", data)
    cache = tmp_path / "cache"
    messages = []
    path = fetch.fetch(base + "w-1234.bin", str(cache), checksum=f"md5:{md5}", log=messages.append)
    assert path == str(cache / "w-1234.bin") and open(path, "rb").read() == data
    assert messages == [f"Downloading {base}w-1234.bin to {path}"]
    assert os.listdir(cache) == ["w-1234.bin"]  # no temporary file left
    (served / "w-1234.bin").unlink()  # the cache answers from now on
    assert fetch.fetch(base + "w-1234.bin", str(cache), checksum=f"sha256:{sha256[:8]}") == path


def test_a_download_with_another_checksum_is_refused_and_removed(server, tmp_path):
    served, base = server
    _publish(served, "w.bin", b"the published bytes")
    with pytest.raises(OSError, match=r"checksum is not md5:0123.*place it at .*w.bin"):
        fetch.fetch(base + "w.bin", str(tmp_path / "cache"), checksum="md5:0123", log=lambda m: None)
    assert os.listdir(tmp_path / "cache") == []


def test_a_corrupt_cached_file_is_downloaded_again(server, tmp_path):
    served, base = server
    md5, _ = _publish(served, "w.bin", b"complete")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "w.bin").write_bytes(b"compl")
    path = fetch.fetch(base + "w.bin", str(tmp_path / "cache"), checksum=f"md5:{md5}", log=lambda m: None)
    assert open(path, "rb").read() == b"complete"


def test_a_cache_trusted_as_torch_hub_trusts_its_own(tmp_path):
    (tmp_path / "w-1234abcd.pth").write_bytes(b"saved by torch.hub")  # not that hash: it was never downloaded
    assert fetch.fetch("http://127.0.0.1:9/w-1234abcd.pth", str(tmp_path), checksum="sha256:1234abcd",
                       check_cached=False) == str(tmp_path / "w-1234abcd.pth")


def test_a_missing_file_names_the_url_and_the_folder(server, tmp_path):
    _, base = server
    with pytest.raises(OSError) as error:
        fetch.fetch(base + "absent.bin", str(tmp_path / "cache"), what="the test weights", cache="a cache")
    message = str(error.value)
    assert "Cannot download the test weights absent.bin (HTTP 404" in message
    assert f"Download {base}absent.bin and place it at {tmp_path / 'cache' / 'absent.bin'} (a cache)." in message


def test_a_malformed_checksum_raises_before_any_download(tmp_path):
    with pytest.raises(ValueError, match=r"'md5:<hex>' or 'sha256:<hex>'. Received: checksum='crc:1'"):
        fetch.fetch("http://127.0.0.1:9/w.bin", str(tmp_path), checksum="crc:1")


# The descriptors ---------------------------------------------------------------------


@pytest.mark.parametrize("name", keras_cnns.list_models())
def test_declared_weights_are_complete(name):
    info = keras_cnns.model_info(name)
    for weights in info.weights:
        assert weights.tag and weights.label and weights.license
        assert weights.preprocessing.channels == info.channels == 3
        assert weights.num_classes == 1000 and 50 < weights.top1 < 90 and weights.top1_source
        assert info.get_weights(weights.tag) is weights
        assert set(weights.options) | set(weights.defaults) <= info.arguments  # options its builder takes
        if weights.top_size_free_with:
            assert weights.top_size_free_with in info.arguments
    declared = tuple(w.tag for w in info.weights)
    assert info.tags == (declared if not declared or "imagenet" in declared else ("imagenet", *declared))
    if info.weights:  # "imagenet": keras.applications' where they exist, else the first declared
        best = next((w for w in info.weights if w.tag == "imagenet"), info.weights[0])
        assert info.get_weights("imagenet") is info.imagenet_weights is best


def test_weights_arguments_dispatch_by_tag_and_file():
    info = keras_cnns.model_info("resnet50")
    assert info.resolve_weights(None) == (None, None)
    assert info.resolve_weights("imagenet") == (info.get_weights("imagenet"), None)
    assert info.resolve_weights("torchvision")[0].label == "torchvision resnet50"
    assert info.resolve_weights("x/resnet50_weights.h5") == (info.get_weights("imagenet"), "x/resnet50_weights.h5")
    assert info.resolve_weights("x/resnet50-11ad3fa6.pth") == (info.get_weights("torchvision"), "x/resnet50-11ad3fa6.pth")
    for path in ("x/mine.weights.h5", "x/mine.keras"):  # Keras' own files
        saved, found = info.resolve_weights(path)
        assert isinstance(saved, keras_cnns.weights.SavedWeights) and found == path and saved.record is None
        assert saved.preprocessing == info.preprocessing  # outside a run folder: a model trained from scratch
    with pytest.raises(ValueError, match=r"resnet50 has no 'bvlc' weights; its weights: imagenet, torchvision, timm.*Received: weights='bvlc'"):
        info.resolve_weights("bvlc")
    with pytest.raises(ValueError, match=r"zfnet has no 'imagenet' weights; its weights: none"):
        keras_cnns.create_model("zfnet", weights="imagenet")
    with pytest.raises(ValueError, match=r"Expected `pretrained` to be False, True or a weights tag "
                                         r"\('bvlc', 'cadene', 'caffe', 'imagenet', 'timm', 'torchvision'\)"):
        keras_cnns.list_models(pretrained="keras")
