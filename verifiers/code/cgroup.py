"""Optional per-sandbox cgroup: a hard limit on the resident memory and the process count of one sandbox.

rlimits bound each process's address space, but memory a process can hold outside it (memfd and SysV shared
memory pages, tmpfs files, pipe buffers) and the sum over a sandbox's processes are only bounded by a memory
cgroup, which the kernel charges for every page the sandbox touches, shared memory included.

Used when the verifier may create cgroups (typically as root): cgroup v1 (`memory` and `pids` hierarchies under
/sys/fs/cgroup/<controller>/) or v2 (a child of the verifier's own cgroup, when its controllers can be enabled
there). Elsewhere `detect()` returns None and the sandbox relies on rlimits alone; preflight reports which.
One cgroup per execution: pid 1 of the sandbox is moved in before the program runs (bwrap waits on its block fd
until then), and the folder is removed after the sandbox is reaped.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)
_ROOT = Path("/sys/fs/cgroup")


class Cgroup:
    """The cgroup folders of one execution (one per v1 hierarchy, or one v2 folder)."""

    def __init__(self, folders: list[Path], v2: bool):
        self.folders, self.v2 = folders, v2

    def add(self, pid: int) -> None:
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def oom_killed(self) -> bool:
        """True if the kernel killed a process of this cgroup for exceeding the memory limit."""
        for folder in self.folders:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    text = (folder / name).read_text()
                except OSError:
                    continue
                counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
                if int(counts.get("oom_kill", "0")) > 0:
                    return True
        return False

    def remove(self) -> None:
        for folder in self.folders:
            for _ in range(50):  # a cgroup is removable only once the kernel has fully released its tasks
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                logger.warning("could not remove cgroup %s", folder)


class CgroupLimiter:
    """Creates per-execution cgroups below the verifier's own ones."""

    def __init__(self, parents: dict[str, Path], v2: bool):
        self.parents, self.v2 = parents, v2

    @property
    def kind(self) -> str:
        return "v2" if self.v2 else "v1"

    @classmethod
    def detect(cls) -> "CgroupLimiter | None":
        """A limiter if cgroups can be created and limited here, else None (never raises)."""
        for detect in (cls._detect_v2, cls._detect_v1):
            try:
                limiter = detect()
                if limiter is not None:  # prove it: create, limit and remove one
                    limiter.create(64 << 20, 8).remove()
                    return limiter
            except (OSError, ValueError) as exc:
                logger.info("cgroup %s not usable for the code sandbox: %s", detect.__name__[-2:], exc)
        return None

    @classmethod
    def _own_paths(cls) -> dict[str, str]:
        paths = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
        return paths

    @classmethod
    def _detect_v2(cls) -> "CgroupLimiter | None":
        if not (_ROOT / "cgroup.controllers").is_file():
            return None
        parent = _ROOT / cls._own_paths().get("", "/").lstrip("/")
        wanted = {"memory", "pids"}
        if not wanted <= set((parent / "cgroup.controllers").read_text().split()):
            return None
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        if not wanted <= enabled:
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted - enabled))
        return cls({"": parent}, v2=True)

    @classmethod
    def _detect_v1(cls) -> "CgroupLimiter | None":
        own = cls._own_paths()
        parents = {c: _ROOT / c / own.get(c, "/").lstrip("/") for c in ("memory", "pids")}
        if not all((p / "cgroup.procs").is_file() and os.access(p, os.W_OK) for p in parents.values()):
            return None
        return cls(parents, v2=False)

    def create(self, memory_bytes: int, max_pids: int) -> Cgroup:
        name = f"code-sandbox-{uuid.uuid4().hex[:12]}"
        folders = []
        try:
            for controller, parent in self.parents.items():
                folder = parent / name
                folder.mkdir()
                folders.append(folder)
                if self.v2:
                    (folder / "memory.max").write_text(str(memory_bytes))
                    _write_if_present(folder / "memory.swap.max", "0")
                    (folder / "pids.max").write_text(str(max_pids))
                elif controller == "memory":
                    (folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
                    _write_if_present(folder / "memory.memsw.limit_in_bytes", str(memory_bytes))
                else:
                    (folder / "pids.max").write_text(str(max_pids))
        except OSError:
            Cgroup(folders, self.v2).remove()
            raise
        return Cgroup(folders, self.v2)


def _write_if_present(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except FileNotFoundError:
        pass
