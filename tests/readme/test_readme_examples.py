"""The README's curl examples, run with curl in README order against each stage.

Each stage is started with the launcher on a fresh data folder, as a reader
starts it the first time. The commands are read from the README's "The API,
with curl" block; the `# =>` line under each gives the status and a part of
the JSON answer, which must match (a dict: these keys with these values; a
list: as many items, each matching). `ord_...` is the id of the order placed
last. A GET that follows a saga's events (the order's status, notifications,
stock on the functions stage) is asked again for a few seconds, as the README
tells the reader to poll.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from stages.definitions import StageOptions
from stages.launcher import ROOT, FileSink
from stages.running import running_stage

README = ROOT / "README.md"
SECTION = "## The API, with curl"
POLL_FOR = 15.0  # seconds a GET is asked again until it gives the README's answer


@dataclass(frozen=True)
class Example:
    argv: list[str]
    status: int
    answer: object


def examples(readme: Path = README) -> list[Example]:
    """The curl commands of the README's API section and the answers shown under them."""
    text = readme.read_text()
    block = text[text.index(SECTION) :].split("```sh\n", 1)[1].split("```", 1)[0]
    found, command = [], ""
    for line in block.splitlines():
        expected = re.match(r"# => (\d{3}) (.*)$", line)
        if expected:
            argv = shlex.split(command, comments=True)
            found.append(Example(argv, int(expected[1]), json.loads(expected[2])))
            command = ""
        elif not line.startswith("#") and line.strip():
            command += line.removesuffix("\\") + " "
    return found


def matches(answer: object, shown: object) -> bool:
    if isinstance(shown, dict):
        return isinstance(answer, dict) and all(
            k in answer and matches(answer[k], v) for k, v in shown.items()
        )
    if isinstance(shown, list):
        return (
            isinstance(answer, list)
            and len(answer) == len(shown)
            and all(matches(a, s) for a, s in zip(answer, shown, strict=True))
        )
    return answer == shown


def curl(argv: list[str], port: int, order_id: str | None) -> tuple[int, object]:
    command = [
        a.replace("localhost:8000", f"127.0.0.1:{port}").replace("ord_...", order_id or "")
        for a in argv
    ]
    done = subprocess.run(
        [*command, "-w", "\n%{http_code}"], capture_output=True, text=True, check=True, timeout=30
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_the_readme_shows_its_examples_with_answers():
    found = examples()
    assert len(found) >= 12
    assert all(e.argv[0] == "curl" for e in found)


@pytest.mark.parametrize("stage", ["monolith", "microservices", "functions"])
def test_the_readme_examples_give_the_answers_it_shows(stage, tmp_path):
    options = StageOptions(port=0, data_dir=tmp_path / "data")
    with running_stage(stage, options, sink=FileSink(tmp_path / "stage.log")) as running:
        port = int(running.url.rsplit(":", 1)[1])  # the public port the plan bound
        order_id = None
        for example in examples():
            is_get = "-X" not in example.argv
            deadline = time.monotonic() + (POLL_FOR if is_get else 0)
            status, answer = curl(example.argv, port, order_id)
            while not (status == example.status and matches(answer, example.answer)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
                status, answer = curl(example.argv, port, order_id)
            shown = " ".join(example.argv)
            assert status == example.status, (shown, status, answer)
            assert matches(answer, example.answer), (shown, answer, example.answer)
            if "/api/orders" in shown and "-X" in example.argv:
                order_id = answer["id"]
