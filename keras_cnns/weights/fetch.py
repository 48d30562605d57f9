"""Weight files: one download, cache and checksum for every weights format.

``fetch(url, folder, checksum=...)`` returns the path of a file in a cache folder: the
cached copy when its checksum holds, else a fresh download (written to a temporary file,
checked, then renamed into place). Offline, one probe of at most ``PROBE_TIMEOUT``
seconds decides, and the error names the file, the URL and the folder to put it in, so
that a machine without internet access fails at once with what to do.
"""

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request

#: Seconds to wait for a weight store before declaring the machine offline.
PROBE_TIMEOUT = 10
#: The checksum kinds ``fetch`` verifies: ``"md5:<hex>"``, ``"sha1:<hex>"`` (the Caffe Model
#: Zoo's), ``"sha256:<hex>"`` (a prefix of the digest is enough, as torch's file names carry
#: the first 8 hex digits of theirs).
CHECKSUMS = ("md5", "sha1", "sha256")


#: Keras' cache, as the offline messages describe it (``keras_cache_dir``).
KERAS_CACHE = "Keras' cache: $KERAS_HOME/models, by default ~/.keras/models"


def keras_cache_dir():
    """Keras' cache folder for weight files: ``$KERAS_HOME/models``, by default
    ``~/.keras/models`` (``/tmp/.keras/models`` when that is not writable), read at each call."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        os.makedirs(os.path.join(base, "models"), exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return os.path.join(base, "models")


def _split(checksum):
    kind, _, digest = (checksum or "").partition(":")
    if kind not in CHECKSUMS or not digest:
        raise ValueError(
            f"Expected a checksum 'sha1:<hex>', 'md5:<hex>' or 'sha256:<hex>'. Received: checksum={checksum!r}"
        )
    return kind, digest.lower()


def digest(path, kind):
    """The hex digest (``"md5"``, ``"sha1"`` or ``"sha256"``) of a file."""
    hasher = hashlib.new(kind)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def checksum_ok(path, checksum):
    """Whether the file's digest starts with the one of ``checksum`` (always, for None)."""
    if checksum is None:
        return True
    kind, expected = _split(checksum)
    return digest(path, kind).startswith(expected)


def unreachable(url):
    """None if ``url`` answers (a HEAD request, ``PROBE_TIMEOUT`` seconds at most), else why not."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=PROBE_TIMEOUT):
            return None
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} {e.reason}"
    except urllib.error.URLError as e:
        return str(e.reason)
    except OSError as e:
        return str(e)


def download(url, path, checksum=None, log=None):
    """Downloads ``url`` to ``path`` through a temporary file in the same folder; the file
    appears only complete and with the right checksum.

    Raises:
        OSError: the download failed, or its checksum is not ``checksum``.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    log(f"Downloading {url} to {path}")
    handle, partial = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        if not checksum_ok(partial, checksum):
            raise OSError(f"the download's checksum is not {checksum}")
        os.replace(partial, path)
    except (OSError, urllib.error.URLError):
        if os.path.exists(partial):
            os.remove(partial)
        raise
    return path


def fetch(url, folder, *, file=None, checksum=None, check_cached=True, what="weights", cache="", log=None):
    """The local path of the file at ``url``: ``folder/file`` when it is there with the
    right checksum, else downloaded there now.

    Args:
        url: where the file is published.
        folder: the cache folder.
        file: the file name in the cache; defaults to the URL's last part.
        checksum: None, ``"md5:<hex>"``, ``"sha1:<hex>"`` or ``"sha256:<hex>"`` (a digest
            prefix is enough).
        check_cached: check the checksum of a cached file too, not only of a download
            (False for a cache shared with a library that trusts its own, as torch.hub's).
        what: what the file is, for the messages ("torchvision's weights").
        cache: the cache's description for the offline message ("Keras' cache: ...").
        log: where the download's one-line message goes (stderr by default).

    Raises:
        OSError: the file is neither cached with the right checksum nor downloadable; the
            message names the file, the URL and where to place the file.

    Examples:

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "w.bin"), "wb").write(b"abc")
    >>> fetch("https://example.invalid/w.bin", folder, checksum="md5:900150983cd24fb0") == os.path.join(folder, "w.bin")
    True
    """
    file = file or url.rstrip("/").rpartition("/")[2]
    path = os.path.join(folder, file)
    if checksum is not None:
        _split(checksum)  # a malformed checksum fails before any download
    problem = ""
    if os.path.isfile(path):
        if not check_cached or checksum_ok(path, checksum):
            return path
        problem = f" The cached {path} is incomplete or corrupt (its checksum is not {checksum})."
    reason = unreachable(url)
    if reason is None:
        try:
            return download(url, path, checksum, log)
        except (OSError, urllib.error.URLError) as e:
            reason = str(e)
    where = f" ({cache})" if cache else ""
    raise OSError(
        f"Cannot download {what} {file} ({reason}).{problem} Download {url} and place it at {path}{where}."
    )
