"""The CIFAR-10 loader on small archives the tests build themselves, and on the real mirror."""

import hashlib
import io
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

from ssl_lib import data
from ssl_lib.data import CLASSES, CorruptDataError, DataUnavailableError, load_cifar10

PER_CLASS = {"train": 3, "test": 2}


def make_mirror(folder, seed=0, drop=(), extra=()):
    """A miniature mirror: both archives in ImageFolder layout and their SHA256SUMS, without the
    members named in ``drop`` (``"test/cat"`` drops a class) and with ``extra`` (name, bytes) added.

    Returns the original pixels by split, in the loader's order (class, then file name).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    originals, sums = {}, []
    for split, n in PER_CLASS.items():
        # Smooth images, so that JPEG's loss stays small enough to compare pixels.
        base = rng.integers(0, 256, size=(len(CLASSES), n, 4, 4, 3)).astype(np.uint8)
        pixels = base.repeat(8, axis=2).repeat(8, axis=3)
        archive = folder / data.ARCHIVES[split]
        with tarfile.open(archive, "w:gz") as tar:
            for member, content in extra:
                if member.startswith(split):
                    info = tarfile.TarInfo(member)
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
            for c, name in enumerate(CLASSES):
                if f"{split}/{name}" in drop:
                    continue
                for i in range(n):
                    buffer = io.BytesIO()
                    Image.fromarray(pixels[c, i]).save(buffer, format="JPEG", quality=95, subsampling=0)
                    info = tarfile.TarInfo(f"{split}/{name}/{i:04d}.jpg")
                    info.size = buffer.tell()
                    buffer.seek(0)
                    tar.addfile(info, buffer)
        sums.append(f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}")
        originals[split] = pixels.reshape(-1, 32, 32, 3)
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return originals


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder, no mirror set, and the miniature mirror's class counts expected."""
    monkeypatch.setattr(data, "PER_CLASS", PER_CLASS)
    folder = tmp_path / "cache"
    monkeypatch.setenv(data.CACHE_ENV, str(folder))
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    return folder


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("split", ["train", "test"])
def test_loads_mirror_offline_and_decodes_images(tmp_path, cache, split):
    originals = make_mirror(tmp_path / "mirror")
    images = load_cifar10(split, mirror=tmp_path / "mirror")
    n = PER_CLASS[split]
    assert images.images.shape == (10 * n, 32, 32, 3) and images.images.dtype == np.uint8
    assert images.labels.tolist() == [c for c in range(10) for _ in range(n)]
    error = np.abs(images.images.astype(int) - originals[split].astype(int)).mean()
    assert error < 4, f"decoded pixels differ from the originals by {error:.1f} on average"


def test_second_load_comes_from_the_cache(tmp_path, cache, monkeypatch):
    make_mirror(tmp_path / "mirror")
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "mirror"))
    first = load_cifar10("train")
    (tmp_path / "mirror" / data.ARCHIVES["train"]).unlink()   # only the cache can serve it now
    second = load_cifar10("train")
    np.testing.assert_array_equal(first.images, second.images)
    assert [p.suffix for p in cache.iterdir()] == [".npz"]    # one cache file, no temporary left


def test_a_changed_archive_never_loads_a_stale_cache(tmp_path, cache):
    make_mirror(tmp_path / "mirror", seed=0)
    first = load_cifar10("test", mirror=tmp_path / "mirror")
    make_mirror(tmp_path / "mirror", seed=1)                  # new archives, new SHA256SUMS
    second = load_cifar10("test", mirror=tmp_path / "mirror")
    assert not np.array_equal(first.images, second.images)


def test_corrupt_archive_names_the_file_and_leaves_no_cache(tmp_path, cache):
    make_mirror(tmp_path / "mirror")
    archive = tmp_path / "mirror" / data.ARCHIVES["train"]
    content = bytearray(archive.read_bytes())
    content[len(content) // 2] ^= 0xFF
    archive.write_bytes(bytes(content))
    with pytest.raises(CorruptDataError, match="cifar10-train-jpeg.tar.gz.*SHA-256"):
        load_cifar10("train", mirror=tmp_path / "mirror")
    assert leftovers(cache) == []


def test_truncated_archive_with_matching_checksum_leaves_no_cache(tmp_path, cache):
    make_mirror(tmp_path / "mirror")
    archive = tmp_path / "mirror" / data.ARCHIVES["test"]
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    sums = tmp_path / "mirror" / "SHA256SUMS"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    lines = [line for line in sums.read_text().splitlines() if archive.name not in line]
    sums.write_text("\n".join(lines + [f"{digest}  {archive.name}"]) + "\n")
    with pytest.raises(CorruptDataError, match="cifar10-test-jpeg.tar.gz.*truncated"):
        load_cifar10("test", mirror=tmp_path / "mirror")
    assert leftovers(cache) == []


def test_missing_checksum_or_folder(tmp_path, cache):
    make_mirror(tmp_path / "mirror")
    (tmp_path / "mirror" / "SHA256SUMS").write_text("")
    with pytest.raises(CorruptDataError, match="no checksum for cifar10-train-jpeg.tar.gz"):
        load_cifar10("train", mirror=tmp_path / "mirror")
    with pytest.raises(DataUnavailableError, match="does not exist"):
        load_cifar10("train", mirror=tmp_path / "nowhere")


def test_no_mirror_and_no_network_says_both_fixes(cache, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataUnavailableError) as error:
        load_cifar10("test")
    message = str(error.value)
    assert data.MIRROR_ENV in message and "internet" in message
    assert leftovers(cache) == []


def test_unknown_split_and_bad_subset(tmp_path, cache):
    with pytest.raises(ValueError, match="split"):
        load_cifar10("validation", mirror=tmp_path)
    make_mirror(tmp_path / "mirror")
    images = load_cifar10("train", mirror=tmp_path / "mirror")
    small = images.subset(2, seed=0)
    assert np.bincount(small.labels).tolist() == [2] * 10
    with pytest.raises(ValueError, match="per_class"):
        images.subset(4)
    tensor, labels = small.tensors()
    assert tuple(tensor.shape) == (20, 3, 32, 32) and labels.shape == (20,)


@pytest.mark.skipif(not os.environ.get(data.MIRROR_ENV), reason="needs the offline mirror (SSL_LIB_CIFAR10)")
def test_the_real_mirror_has_all_of_cifar10():
    test = load_cifar10("test")
    assert test.images.shape == (10_000, 32, 32, 3)
    assert np.bincount(test.labels).tolist() == [1000] * 10
    mean = test.images.reshape(-1, 3).mean(axis=0) / 255
    np.testing.assert_allclose(mean, [0.494, 0.485, 0.450], atol=0.01)   # the mirror's README


def test_a_damaged_or_foreign_cache_file_is_rebuilt_with_a_warning(tmp_path, cache):
    make_mirror(tmp_path / "mirror")
    first = load_cifar10("test", mirror=tmp_path / "mirror")
    (cached,) = cache.iterdir()
    cached.write_bytes(cached.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable or not CIFAR-10.*decoding the data again"):
        again = load_cifar10("test", mirror=tmp_path / "mirror")
    np.testing.assert_array_equal(first.images, again.images)
    np.savez(cached, images=np.zeros((5, 8, 8, 3), np.uint8), labels=np.zeros(5, np.int64))  # 5 images of 8x8
    with pytest.warns(UserWarning, match=r"not \(N, 32, 32, 3\) uint8"):
        assert len(load_cifar10("test", mirror=tmp_path / "mirror")) == len(first)


def test_an_archive_without_a_class_is_not_cifar10(tmp_path, cache):
    make_mirror(tmp_path / "mirror", drop=("test/cat",))
    with pytest.raises(CorruptDataError, match="cat 0, deer 2, .* images of the test split; CIFAR-10 has 2 of each class"):
        load_cifar10("test", mirror=tmp_path / "mirror")
    assert leftovers(cache) == []


def test_hidden_and_appledouble_files_are_skipped_and_a_stray_file_is_named(tmp_path, cache):
    make_mirror(tmp_path / "mirror", extra=(("test/cat/._0001.jpg", b"\x00\x05AppleDouble"), ("test/.DS_Store", b"x")))
    assert len(load_cifar10("test", mirror=tmp_path / "mirror")) == 20
    make_mirror(tmp_path / "other", extra=(("test/cat/notes.txt", b"hello"),))
    with pytest.raises(CorruptDataError, match="holds test/cat/notes.txt, which is not an image"):
        load_cifar10("test", mirror=tmp_path / "other")
    make_mirror(tmp_path / "broken", extra=(("test/cat/9999.jpg", b"not a jpeg"),))
    with pytest.raises(CorruptDataError, match="test/cat/9999.jpg cannot be decoded as an image"):
        load_cifar10("test", mirror=tmp_path / "broken")


def test_an_unusable_cache_folder_is_named_before_decoding(tmp_path, cache, monkeypatch):
    make_mirror(tmp_path / "mirror")
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "a_file"))
    with pytest.raises(NotADirectoryError, match="SSL_LIB_CACHE=.*a_file is a file, not a folder"):
        load_cifar10("test", mirror=tmp_path / "mirror")


def test_a_missing_mirror_folder_is_named_as_such(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_LIB_CIFAR10", str(tmp_path / "no_such_mirror"))
    with pytest.raises(RuntimeError, match="SSL_LIB_CIFAR10=.*no_such_mirror is not a folder"):
        data.data_identity()
