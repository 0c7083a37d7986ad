"""How a lab page's blocks are read and their shown output checked (no stage started)."""

from __future__ import annotations

import pytest

from tests.labs.lab_pages import blocks, missing_fragments, parse_block

PAGE = """# A lab

```console
$ shown only, never run
```

```console lab timeout=30
$ make run-monolith > monolith.log 2>&1 &
$ curl -s localhost:$PORT/api/stock/TF-0001 \\
    -H 'Accept: application/json'
{"sku":"TF-0001","available":~57,...
```
"""


def test_only_marked_blocks_run_and_commands_keep_their_continuations(tmp_path):
    page = tmp_path / "01-a-lab.md"
    page.write_text(PAGE)
    [block] = blocks(page)
    assert block.timeout == 30
    assert block.line == 7
    first, second = block.commands
    assert first.text == "make run-monolith > monolith.log 2>&1 &"
    assert first.fragments == ()
    assert second.text.endswith("-H 'Accept: application/json'")
    assert second.fragments == ('{"sku":"TF-0001","available":~57,...',)


def test_a_fragment_matches_other_figures_but_not_other_words():
    shown = ['"status":"confirmed"...', "latency p95 ms  ~36  ~210"]
    assert (
        missing_fragments(shown, '{"status":"confirmed","x":1}\nlatency p95 ms    1,040    9\n')
        == []
    )
    assert missing_fragments(shown, '{"status":"rejected"}\nlatency p95 ms 36 210\n') == [
        '"status":"confirmed"...'
    ]
    assert missing_fragments(["latency p95 ms ~36"], "latency p99 ms 36") == ["latency p95 ms ~36"]


def test_fragments_are_found_in_order():
    assert missing_fragments(["b", "a"], "a\nb\n") == ["a"]


def test_output_before_a_command_is_a_page_error():
    with pytest.raises(ValueError, match="orphan output"):
        parse_block("orphan output\n$ true\n")
