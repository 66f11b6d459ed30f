"""Files written atomically: a path holds either its old content or the whole new one, never a part, and the
temporaries of writers that died mid-write are removed by the next save or load of that path. Learner checkpoints,
tabular exports and nnx.save write through write_atomically."""
from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["write_atomically", "resolve_target", "remove_stale_temporaries"]


def write_atomically(path: str | os.PathLike[str], write_fn: Callable[[BinaryIO], object]) -> None:
    """Write a file so that `path` holds either its old content or the whole new one, never a part:
    write_fn(file) fills a temporary file beside the target (missing folders are created), which is
    fsync'd, given the mode (and, for root, the owner) of the file it replaces (0o644 for a new one) and
    then os.replace'd. A symlink is followed: its target gets the new content, the link stays a link.
    A target this process may not write (mode 0o444, another user's) raises PermissionError and keeps its
    content, as open(path, "wb") would (root's override included: the kernel decides, not a mode test).
    The temporary's name carries this process's pid, so that the next save or load of `path` removes
    it if this process dies before the rename (remove_stale_temporaries) and never a live writer's."""
    path = resolve_target(path)
    if os.path.isdir(path):  # checked first: the temporary file would otherwise go into its parent
        raise IsADirectoryError(f"path {path!r} is a directory; give a file name to write")
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    _check_writable(path)
    remove_stale_temporaries(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp",
                                     dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            write_fn(file)
            file.flush()
            os.fsync(file.fileno())
        _copy_mode_and_owner(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        with _ignoring(FileNotFoundError):
            os.unlink(temporary)
        raise


def resolve_target(path: str | os.PathLike[str]) -> str:
    """The absolute path a write to `path` lands on: symlinks (chains of them, dangling ones) followed as
    open() follows them, so that the rename replaces the target and not the link."""
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def _check_writable(path):
    """PermissionError unless this process may open the existing file `path` for writing. The rename would
    replace a read-only file (it needs only the folder's permission), so ask the kernel the question open()
    asks, without truncating anything; a missing file is fine (the folder's permission is checked by mkstemp)."""
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    except PermissionError as error:
        raise PermissionError(errno.EACCES, f"cannot write {path!r}: permission denied (the file is "
                              "write-protected or another user's; its content is kept)", path) from error
    except OSError:  # a FIFO without reader, a busy executable...: os.replace decides
        return
    os.close(fd)


def _copy_mode_and_owner(path, temporary):
    """The new file keeps the replaced file's permission bits (mkstemp would leave 0o600) and, where this
    process may change it (root), its owner and group; a new file gets 0o644."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        os.chmod(temporary, 0o644)
        return
    if hasattr(os, "chown") and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        with _ignoring(OSError):
            os.chown(temporary, info.st_uid, info.st_gid)
    os.chmod(temporary, info.st_mode & 0o777)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> None:
    """Remove the temporary files of `path` (.<name>.<pid>.<random>.tmp, beside it) whose writer is dead,
    e.g. SIGKILLed in the middle of a save; called by every save and load of `path`. A file whose writer
    is alive (another process saving now, or this one: a save in another thread) is left alone, as is
    anything not named that way. Best effort: what cannot be listed or removed stays."""
    if os.name != "posix":  # os.kill(pid, 0) only tests liveness on POSIX (elsewhere signal 0 is CTRL_C_EVENT)
        return
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{os.path.basename(path)}.") + r"([0-9]+)\.[A-Za-z0-9_]+\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or _writer_alive(int(match.group(1))):
            continue
        with _ignoring(OSError):  # gone already (another process cleaned it), not ours to remove, a folder
            os.unlink(os.path.join(directory, name))


def _writer_alive(pid):
    """Whether process `pid` may still be writing: os.kill(pid, 0) semantics; PermissionError means it
    exists (another user's), and this process's own files belong to a save that may be in progress."""
    if pid <= 0 or pid == os.getpid():  # 0 and negative pids name process groups, never a writer
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):  # a number no process can have: not a file of ours, leave it
        return True
    return True


class _ignoring:
    def __init__(self, *exceptions):
        self.exceptions = exceptions

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        return kind is not None and issubclass(kind, self.exceptions)
