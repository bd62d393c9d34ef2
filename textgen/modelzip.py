"""Model zips: a model folder's shareable files zipped for download, and a downloaded zip unpacked
with every check a Hub model gets (sizes refused before anything is written, names that cannot climb
out of the folder, a time limit)."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from .checkpoints import CONFIG_FILE, MODEL_FILES, REQUIRED_FILES, file_limits, read_config
from .errors import CheckpointError

MAX_ZIP_MEMBERS = 50
UNPACK_SECONDS = 60  # one upload's unpacking, at most


def zip_model(directory: str | Path, destination: str | Path) -> Path:
    """A zip of the model folder's shareable files (no resume state)."""
    directory, destination = Path(directory), Path(destination)
    staging = Path(tempfile.mkdtemp(prefix="textgen-zip-")) / directory.name
    staging.mkdir(parents=True)
    for name in MODEL_FILES:
        if (directory / name).is_file():
            shutil.copy2(directory / name, staging / name)
    archive = shutil.make_archive(str(destination / directory.name), "zip", staging.parent, directory.name)
    shutil.rmtree(staging.parent, ignore_errors=True)
    return Path(archive)


def unpack_model_zip(archive: str | Path, destination: str | Path) -> Path:
    """A downloaded model zip into a new folder under `destination`: only the model files (from the
    zip's root or one folder), each refused before anything is written when the size the zip declares
    for it is more than a valid file can hold (file_limits: config.json first, then the rest by what
    it describes), and cut off at that size while inflating whatever the zip declares; at most
    UNPACK_SECONDS. Names that would climb out of the folder are never used: files are written under
    their known names. On any failure the folder goes."""
    archive, destination = Path(archive), Path(destination)
    folder = None
    try:
        with zipfile.ZipFile(archive) as zipped:
            found = _model_members(zipped)
            limits = file_limits()
            _refuse_declared(found, limits)
            destination.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"{archive.stem[:40]}-", dir=destination))
            deadline = time.monotonic() + UNPACK_SECONDS
            _extract(zipped, found[CONFIG_FILE], folder / CONFIG_FILE, limits[CONFIG_FILE], deadline)
            limits = file_limits(read_config(folder / CONFIG_FILE))  # the rest, by the model it describes
            _refuse_declared(found, limits)
            for name, member in found.items():
                if name != CONFIG_FILE:
                    _extract(zipped, member, folder / name, limits[name], deadline)
    except BaseException as err:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError)):
            raise CheckpointError("not a readable zip file ({reason})", reason=err).within(archive.name) from None
        if isinstance(err, CheckpointError):
            raise err.within(archive.name) from None
        raise
    return folder


def _model_members(zipped: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members = [m for m in zipped.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_MEMBERS:
        raise CheckpointError(
            "the zip holds {count} files; a model zip holds at most {max}", count=len(members), max=MAX_ZIP_MEMBERS
        )
    found = {PurePosixPath(m.filename).name: m for m in members if PurePosixPath(m.filename).name in MODEL_FILES}
    missing = [name for name in REQUIRED_FILES if name not in found]
    if missing:
        raise CheckpointError("the zip is not a textgen model: it has no {files}", files=", ".join(missing))
    return found


def _refuse_declared(found: dict[str, zipfile.ZipInfo], limits: dict[str, int]) -> None:
    for name, member in found.items():
        if member.file_size > limits[name]:
            raise _too_big(name, limits[name])


def _too_big(name: str, limit: int) -> CheckpointError:
    return CheckpointError(
        "{name} in the zip is larger than a valid one can be ({limit:,.1f} MB at most)",
        name=name,
        limit=limit / 2**20,
    )


def _extract(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, limit: int, deadline: float) -> None:
    with zipped.open(member) as source, open(target, "wb") as out:
        if _copy_limited(source, out, limit, deadline) > limit:
            raise _too_big(target.name, limit)


def _copy_limited(source, target, limit: int, deadline: float = math.inf, chunk: int = 2**20) -> int:
    """Copy at most limit + 1 bytes (a zip can claim a small size and unpack to a huge one), until
    `deadline` (time.monotonic())."""
    copied = 0
    while copied <= limit:
        if time.monotonic() > deadline:
            raise CheckpointError("the zip took too long to unpack")
        block = source.read(min(chunk, limit + 1 - copied))
        if not block:
            break
        target.write(block)
        copied += len(block)
    return copied
