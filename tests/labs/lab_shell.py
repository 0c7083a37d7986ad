"""One bash per lab: its commands run in order in the same shell state (variables, cwd,
background jobs), as a reader types them into one terminal.

The shell has job control on (`set -m`), as an interactive one: a command started with
`&` is a job with its own process group, so the page's `kill %1` stops all of it.
Every process the shell started is noted after each command; when the lab is over,
each must be gone (the page's cleanup stopped it): one left is killed, and reported.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil

STOP_WITHIN = 20.0  # seconds the processes get to stop after the lab's last command


class CommandFailed(AssertionError):
    pass


class LabShell:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.marker = f"__lab_done_{secrets.token_hex(4)}"
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.started: dict[int, float] = {}  # pid -> create_time, every process seen
        self.run("set -m", timeout=10)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, command: str, timeout: float) -> str:
        """The command's output (stdout and stderr); raises if it fails or outlasts timeout."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\necho {self.marker} $?\n")
        self.process.stdin.flush()
        output: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._note_processes()
                raise CommandFailed(
                    f"`{command}` did not finish within {timeout:.0f} s; "
                    f"its output so far:\n{''.join(output)}"
                ) from None
            if line is None:
                raise CommandFailed(f"the shell exited during `{command}`:\n{''.join(output)}")
            if line.startswith(self.marker):
                code = int(line.split()[1])
                break
            output.append(line)
        self._note_processes()
        text = "".join(output)
        if code != 0:
            raise CommandFailed(f"`{command}` exited with {code}; its output:\n{text}")
        return text

    def _note_processes(self) -> None:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.started.setdefault(child.pid, child.create_time())

    def _alive(self) -> list[psutil.Process]:
        alive = []
        for pid, created in self.started.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == created and process.status() != "zombie":
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        return alive

    def close(self, stop_within: float = STOP_WITHIN) -> list[str]:
        """End the shell; the processes it left behind (killed now), as readable lines."""
        self._note_processes()
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=2)  # it only has to read the end of its input
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        deadline = time.monotonic() + stop_within
        while (alive := self._alive()) and time.monotonic() < deadline:
            time.sleep(0.2)  # the stage's own stop is bounded: poll until it is done
        left = []
        for process in alive:
            try:
                left.append(f"{process.pid} {' '.join(process.cmdline())}")
                process.kill()
            except psutil.NoSuchProcess:
                pass
        self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return left
