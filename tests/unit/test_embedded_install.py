"""As root, the embedded PostgreSQL runs as an unprivileged user, who must be able to reach its
binaries even from a checkout under a private folder (mode 700, like root's home)."""

import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from procure.infra.embedded import others_can_reach, reachable_install


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder open to others (pytest's own sit under a private one)."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _install(root: Path) -> Path:
    source = root / "private" / "site-packages" / "pgserver" / "pginstall"
    (source / "bin").mkdir(parents=True)
    libs = root / "private" / "site-packages" / "pgserver.libs"
    libs.mkdir()
    (libs / "libpq-0.so.5").write_text("libpq")
    (source / "lib").mkdir()
    binary = source / "bin" / "postgres"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (source / "lib" / "libpq.so").write_text("lib")
    return source


def test_an_open_installation_is_used_where_it_is(tmp_path: Path) -> None:
    source = _install(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    assert reachable_install(source, "pgserver", cache) == source
    assert reachable_install(source, None, cache) == source
    assert list(cache.iterdir()) == []


def test_behind_a_private_folder_a_reachable_copy_is_made_once(tmp_path: Path) -> None:
    source = _install(tmp_path)
    (tmp_path / "private").chmod(0o700)
    cache = tmp_path / "cache"
    cache.mkdir()
    assert not others_can_reach(source / "bin")

    copy = reachable_install(source, "pgserver", cache)
    assert copy != source and copy.parents[1].parent == cache
    assert others_can_reach(copy / "bin")
    assert (copy / "bin" / "postgres").stat().st_mode & stat.S_IXOTH
    assert (copy / "lib" / "libpq.so").read_text() == "lib"
    # The wheel's layout is kept: the binaries' RPATH reaches ../../../pgserver.libs.
    assert (copy / "bin" / ".." / ".." / ".." / "pgserver.libs" / "libpq-0.so.5").is_file()
    # Kept and reused; nothing else left behind in the cache.
    assert reachable_install(source, "pgserver", cache) == copy
    assert [p.name for p in cache.iterdir()] == [copy.parents[1].name]


def test_a_copy_someone_else_could_have_planted_is_refused(tmp_path: Path) -> None:
    source = _install(tmp_path)
    (tmp_path / "private").chmod(0o700)
    cache = tmp_path / "cache"
    cache.mkdir()
    copy = reachable_install(source, "pgserver", cache)
    copy.parents[1].chmod(0o777)  # writable by anyone: its binaries could have been swapped
    with pytest.raises(PermissionError):
        reachable_install(source, "pgserver", cache)
