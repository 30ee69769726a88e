"""Clean-up that a sandboxed program cannot defeat.

`shutil.rmtree` recurses in Python: a directory tree ~1,000 levels deep (one line of model
code) raises RecursionError, which its `ignore_errors` does not cover, and the verdict became an
error with the scratch dir left behind. GNU `rm -rf` walks with fts (no recursion limit, never
follows symlinks), so it is the fallback; without root a candidate may also have removed its
own permissions on a subfolder, so `chmod -R u+rwX` (which does not follow links either) runs
before the second try.

At the weak isolation level (no namespaces) the candidate's processes and files are not in a
namespace that dies with it: `sweep_uid` kills every process of the slot's uid (daemons that
left the process group included) and removes what that uid left in the host's world-writable
folders. Uids are per process and per slot (uids.py), so nothing of another run is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")


def remove_tree(path: str | Path) -> bool:
    """Delete `path` without following links; True when it is gone."""
    path = str(path)
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return True
    except (OSError, RecursionError):
        pass
    if not os.path.lexists(path):
        return True
    for cmd in (["rm", "-rf", "--one-file-system", "--", path], ["chmod", "-R", "u+rwX", "--", path],
                ["rm", "-rf", "--one-file-system", "--", path]):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        if not os.path.lexists(path):
            return True
    return not os.path.lexists(path)


def sweep_uid(uid: int) -> None:
    """Kill every process of `uid` and delete its files in the world-writable folders (root only)."""
    if os.geteuid() != 0:
        return
    subprocess.run(["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                    "/bin/kill", "-KILL", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    for top in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for e in entries:
            try:
                if e.stat(follow_symlinks=False).st_uid == uid:
                    if e.is_dir(follow_symlinks=False):
                        remove_tree(e.path)
                    else:
                        os.unlink(e.path)
            except OSError:
                pass
