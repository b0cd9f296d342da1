"""CIFAR-10, online or offline, decoded once and cached as uint8 arrays.

Where does the data come from?

1. **An offline mirror**, when the environment variable ``SSL_LIB_CIFAR10`` names a folder laid
   out like ``shared/data/cifar10``: ``cifar10-train-jpeg.tar.gz`` and ``cifar10-test-jpeg.tar.gz``
   (ImageFolder layout ``<split>/<class>/<name>.jpg``) and ``SHA256SUMS``. The archive's checksum
   is verified, its images decoded once, and the arrays cached.
2. **torchvision's download** otherwise (Colab, a laptop with internet), into the cache folder.

The cache folder is ``SSL_LIB_CACHE`` or ``~/.cache/ssl_lib``. Cache files are written
atomically, so an interrupted or failed decode never leaves a half-written cache behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from ssl_lib.storage import atomic_write, check_writable

CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
SPLITS = ("train", "test")
MIRROR_ENV = "SSL_LIB_CIFAR10"
CACHE_ENV = "SSL_LIB_CACHE"
ARCHIVES = {"train": "cifar10-train-jpeg.tar.gz", "test": "cifar10-test-jpeg.tar.gz"}
#: Images per class in each split of CIFAR-10: what a decoded split must hold.
PER_CLASS = {"train": 5000, "test": 1000}


class DataUnavailableError(RuntimeError):
    """Neither the offline mirror nor a download could provide the data."""


class CorruptDataError(ValueError):
    """An archive fails its checksum or cannot be decoded."""


@dataclass(frozen=True)
class ImageSet:
    """Images with labels, as stored: ``images`` (N, 32, 32, 3) uint8, ``labels`` (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...] = CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, per_class: int, seed: int = 0) -> "ImageSet":
        """A class-balanced random subset with ``per_class`` images of each class."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        if per_class < 1 or per_class > counts.min():
            raise ValueError(f"per_class must be between 1 and {counts.min()}, got {per_class}")
        rng = np.random.default_rng(seed)
        index = np.concatenate([
            rng.choice(np.flatnonzero(self.labels == c), per_class, replace=False)
            for c in range(len(self.classes))
        ])
        index.sort()
        return ImageSet(self.images[index], self.labels[index], self.classes)

    def tensors(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """The images as a (N, 3, 32, 32) uint8 tensor and the labels as (N,) int64, on ``device``."""
        images = torch.from_numpy(self.images).permute(0, 3, 1, 2).contiguous()
        return images.to(device), torch.from_numpy(self.labels).to(device)


def cache_dir() -> Path:
    """The folder of decoded arrays and downloads: ``SSL_LIB_CACHE`` or ``~/.cache/ssl_lib``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ssl_lib").expanduser()


def load_cifar10(split: str = "train", mirror: str | os.PathLike | None = None) -> ImageSet:
    """Load the CIFAR-10 ``split`` ("train": 50,000 images, "test": 10,000).

    Args:
        split: "train" or "test".
        mirror: an offline mirror folder; default: the ``SSL_LIB_CIFAR10`` environment variable.
            Without one, torchvision downloads the data (once) into :func:`cache_dir`.

    Raises:
        DataUnavailableError: no mirror is set and the download fails; the message says how to fix it.
        CorruptDataError: an archive of the mirror fails its checksum or cannot be decoded.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    if mirror is not None:
        return _load_from_mirror(Path(mirror).expanduser(), split)
    return _load_with_torchvision(split)


def _load_from_mirror(mirror: Path, split: str) -> ImageSet:
    if not mirror.is_dir():
        raise DataUnavailableError(
            f"the CIFAR-10 mirror folder {mirror} (from {MIRROR_ENV} or the mirror argument) does not "
            f"exist; point {MIRROR_ENV} at a folder holding {ARCHIVES['train']}, {ARCHIVES['test']} "
            f"and SHA256SUMS, or unset it to download CIFAR-10 with torchvision"
        )
    archive = mirror / ARCHIVES[split]
    expected = expected_sha256(mirror / "SHA256SUMS", archive.name)
    cache = cache_dir() / f"cifar10-mirror-{split}-{expected[:16]}.npz"
    if cache.exists():
        cached = _read_cache(cache, split)
        if cached is not None:
            return cached
    check_writable(cache_dir(), CACHE_ENV)  # before the decoding, not after it
    if not archive.is_file():
        raise DataUnavailableError(f"the mirror {mirror} has no {archive.name}; copy it there again")
    actual = _sha256(archive)
    if actual != expected:
        raise CorruptDataError(
            f"{archive} is corrupt or truncated: its SHA-256 is {actual}, SHA256SUMS expects "
            f"{expected}; copy the archive again"
        )
    images, labels = _decode_archive(archive, split)
    check_counts(labels, split, str(archive))
    _write_cache(cache, images, labels)
    return ImageSet(images, labels)


def _load_with_torchvision(split: str) -> ImageSet:
    cache = cache_dir() / f"cifar10-torchvision-{split}.npz"
    if cache.exists():
        cached = _read_cache(cache, split)
        if cached is not None:
            return cached
    check_writable(cache_dir(), CACHE_ENV)
    import torchvision  # imported here: only the download path needs it

    try:
        dataset = torchvision.datasets.CIFAR10(
            root=str(cache_dir() / "torchvision"), train=(split == "train"), download=True
        )
    except Exception as error:  # no network, DNS failure, refused connection, partial download
        raise DataUnavailableError(
            f"CIFAR-10 could not be loaded: no offline mirror is set and torchvision's download "
            f"failed ({type(error).__name__}: {error}). Fix it in one of two ways: set "
            f"{MIRROR_ENV} to a mirror folder with {ARCHIVES['train']}, {ARCHIVES['test']} and "
            f"SHA256SUMS (for example {MIRROR_ENV}=../shared/data/cifar10), or connect to the "
            f"internet so that torchvision can download it."
        ) from error
    images = np.asarray(dataset.data, dtype=np.uint8)
    labels = np.asarray(dataset.targets, dtype=np.int64)
    check_counts(labels, split, "torchvision's download")
    _write_cache(cache, images, labels)
    return ImageSet(images, labels)


def data_identity() -> str:
    """Which CIFAR-10 the library reads: ``mirror:<sha256 prefixes of both archives>`` when
    ``SSL_LIB_CIFAR10`` names a mirror, else ``torchvision`` (the original, downloaded)."""
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        return "torchvision"
    if not Path(mirror).expanduser().is_dir():
        raise DataUnavailableError(f"{MIRROR_ENV}={mirror} is not a folder; point {MIRROR_ENV} at the CIFAR-10 "
                                   f"mirror, or unset it to download CIFAR-10 with torchvision")
    sums = Path(mirror).expanduser() / "SHA256SUMS"
    return "mirror:" + ",".join(expected_sha256(sums, ARCHIVES[s])[:12] for s in ("train", "test"))


def expected_sha256(sums: Path, filename: str) -> str:
    if not sums.is_file():
        raise DataUnavailableError(f"the mirror has no {sums.name} at {sums}; copy it with the archives")
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == filename:
            return parts[0].lower()
    raise CorruptDataError(f"{sums} has no checksum for {filename}; copy the mirror's SHA256SUMS again")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _decode_archive(archive: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode every ``<split>/<class>/<name>.jpg`` of the archive, sorted by class then name."""
    found = []
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                path = PurePosixPath(member.name)
                if not member.isfile() or any(part.startswith(".") for part in path.parts):
                    continue  # folders, and hidden or AppleDouble (._name) files a copy left behind
                if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                    raise CorruptDataError(f"{archive} holds {member.name}, which is not an image; the "
                                           f"archive should hold only {split}/<class>/<image>.jpg")
                if len(path.parts) < 3 or path.parts[-3] != split or path.parts[-2] not in CLASSES:
                    raise CorruptDataError(
                        f"{archive} holds {member.name}, outside the layout {split}/<class>/<image>.jpg"
                    )
                data = tar.extractfile(member).read()
                try:
                    with Image.open(io.BytesIO(data)) as img:
                        pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
                except (OSError, ValueError) as error:
                    raise CorruptDataError(f"{archive}: {member.name} cannot be decoded as an image "
                                           f"({error}); copy the archive again") from error
                if pixels.shape != (32, 32, 3):
                    raise CorruptDataError(f"{archive}: {member.name} is {pixels.shape}, not 32x32 RGB")
                found.append((CLASSES.index(path.parts[-2]), path.name, pixels))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise CorruptDataError(
            f"{archive} cannot be read ({type(error).__name__}: {error}); it is corrupt or "
            f"truncated: copy it again"
        ) from error
    if not found:
        raise CorruptDataError(f"{archive} holds no images under {split}/<class>/")
    found.sort(key=lambda item: (item[0], item[1]))
    images = np.stack([pixels for _, _, pixels in found])
    labels = np.array([label for label, _, _ in found], dtype=np.int64)
    return images, labels


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the arrays to ``path`` atomically (:func:`ssl_lib.storage.atomic_write`)."""
    atomic_write(path, lambda f: np.savez(f, images=images, labels=labels), binary=True)


def check_counts(labels: np.ndarray, split: str, source: str) -> None:
    """Raise :class:`CorruptDataError` unless ``labels`` hold :data:`PER_CLASS` images of each of
    the ten classes (a split with a class missing or short is not CIFAR-10)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(CLASSES))
    if len(counts) != len(CLASSES) or (counts != PER_CLASS[split]).any():
        found = ", ".join(f"{name} {n}" for name, n in zip(CLASSES, counts))
        raise CorruptDataError(f"{source} holds {found} images of the {split} split; CIFAR-10 has "
                               f"{PER_CLASS[split]} of each class: copy the data again")


def _read_cache(path: Path, split: str) -> ImageSet | None:
    """The cached split, checked (shapes, type, class counts); None, after a warning, when the
    file is unreadable or not a CIFAR-10 split: the caller decodes it again and rewrites it."""
    try:
        with np.load(path) as arrays:
            images, labels = arrays["images"], arrays["labels"]
        if images.dtype != np.uint8 or images.shape != (len(labels), 32, 32, 3):
            raise ValueError(f"images of shape {images.shape} and type {images.dtype}, not (N, 32, 32, 3) uint8")
        check_counts(labels, split, str(path))
        return ImageSet(images, labels)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        warnings.warn(f"the cache file {path} is unreadable or not CIFAR-10 ({type(error).__name__}: "
                      f"{error}); decoding the data again", stacklevel=3)
        return None
