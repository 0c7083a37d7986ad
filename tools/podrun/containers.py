"""Processes inside built images, with buildah (no container engine runs on this machine).

`podman run` needs a runtime this machine cannot give; `buildah run --isolation chroot
--network host` starts the process in the image's root filesystem, as the image's user
(or the manifest's runAsUser), with the image's environment plus the one given.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path


class ContainerError(Exception):
    """buildah or podman is missing, or refused a step."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ContainerError(f"{name} is not on PATH (make test-images installs it with apt-get)")
    return path


def _check(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ContainerError(f"{' '.join(argv[:3])} failed: {done.stderr.strip()}")
    return done.stdout


def image_command(image: str) -> list[str]:
    """The image's CMD (our images have no ENTRYPOINT); fails if the image is not built."""
    out = _check([_tool("podman"), "image", "inspect", "--format", "{{json .Config.Cmd}}", image])
    return json.loads(out) or []


@dataclass
class Running:
    """One process started in a working container, its output going to log."""

    container: str
    process: subprocess.Popen[bytes]
    log: Path

    def exited(self) -> int | None:
        return self.process.poll()

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(text[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM buildah run (it ends the process inside), SIGKILL after grace seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def create(name: str, image: str) -> str:
    """A working container of image (never pulled: it must have been built here)."""
    if _exists(name):  # left by a run that was killed
        remove(name)
    return _check(
        [_tool("buildah"), "from", "--pull=never", "--quiet", "--name", name, image]
    ).strip()


def _exists(name: str) -> bool:
    done = subprocess.run(
        [_tool("buildah"), "inspect", "--type", "container", name],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


def start(
    container: str,
    argv: list[str],
    env: dict[str, str],
    log: Path,
    user: int | None = None,
    workdir: str | None = None,
) -> Running:
    """buildah run CONTAINER -- ARGV, in the background."""
    command = [_tool("buildah"), "run", "--isolation", "chroot", "--network", "host"]
    if user is not None:
        command += ["--user", str(user)]
    if workdir:
        command += ["--workingdir", workdir]
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, container, "--", *argv],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Running(container, process, log)


# What buildah run itself creates in a container's root to mount over it.
_RUN_MOUNTPOINTS = {"run/.containerenv", "etc/hosts", "etc/resolv.conf", "etc/hostname"}


def written(container: str) -> list[str]:
    """The files a container's processes wrote (or deleted) in its root filesystem.

    A pod's readOnlyRootFilesystem cannot be applied under buildah run here (buildah
    1.28 fails on a read-only root), so the harness looks instead: everything in the
    container's overlay upper layer but buildah's own mount points was written.
    """
    merged = Path(_check([_tool("buildah"), "mount", container]).strip())
    try:
        upper = merged.parent / "diff"  # the overlay driver's layout: <layer>/{diff,merged}
        files = [p for p in upper.rglob("*") if not p.is_dir()]
        return sorted(
            path for p in files if (path := str(p.relative_to(upper))) not in _RUN_MOUNTPOINTS
        )
    finally:
        subprocess.run([_tool("buildah"), "umount", container], capture_output=True, check=False)


def remove(container: str) -> None:
    subprocess.run([_tool("buildah"), "rm", container], capture_output=True, check=False)


def remove_all(prefix: str) -> int:
    """Remove every working container whose name starts with prefix (a run's leftovers)."""
    out = _check([_tool("buildah"), "containers", "--format", "{{.ContainerName}}"])
    names = [n for n in out.split() if n.startswith(prefix)]
    for name in names:
        remove(name)
    return len(names)
