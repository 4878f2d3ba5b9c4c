"""What `procure restore` accepts as a backup (procure/backup.py), checked on hand-made archives:
the databases come from the manifest, so a backup made before the web workspace still restores."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from procure.backup import FORMAT_VERSION, MANIFEST, BackupError, read_backup


def archive(path: Path, databases: list[str], dumps: list[str] | None = None) -> Path:
    manifest = {"format_version": FORMAT_VERSION, "databases": databases}
    files = {MANIFEST: json.dumps(manifest).encode()}
    files |= {f"{name}.dump": f"dump of {name}".encode() for name in dumps or databases}
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return path


def test_a_backup_from_before_the_web_workspace_restores_its_three_databases(
    tmp_path: Path,
) -> None:
    source = archive(tmp_path / "old.tar", ["demand", "tendering", "savings"])
    into = tmp_path / "dumps"
    into.mkdir()

    assert read_backup(source, into) == ("demand", "tendering", "savings")
    assert sorted(p.name for p in into.iterdir()) == [
        "demand.dump",
        "savings.dump",
        "tendering.dump",
    ]
    assert (into / "savings.dump").read_text() == "dump of savings"


def test_a_backup_of_all_four_restores_all_four(tmp_path: Path) -> None:
    source = archive(tmp_path / "new.tar", ["demand", "tendering", "savings", "web"])
    into = tmp_path / "dumps"
    into.mkdir()

    assert read_backup(source, into) == ("demand", "tendering", "savings", "web")


@pytest.mark.parametrize(
    ("databases", "dumps", "reason"),
    [
        (["demand", "tendering"], None, "its manifest names other databases"),
        (["demand", "tendering", "savings", "ledger"], None, "its manifest names other"),
        (["demand", "tendering", "savings"], ["demand", "tendering"], "no savings.dump"),
    ],
)
def test_an_archive_that_is_not_a_whole_backup_is_refused(
    tmp_path: Path, databases: list[str], dumps: list[str] | None, reason: str
) -> None:
    source = archive(tmp_path / "bad.tar", databases, dumps)
    into = tmp_path / "dumps"
    into.mkdir()

    with pytest.raises(BackupError, match=reason):
        read_backup(source, into)
