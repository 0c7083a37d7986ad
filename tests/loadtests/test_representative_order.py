"""The representative order: placed with a sampled traceparent, its spans read back and kept.

Against a fake stage that traces with the real SDK and file exporter at a
sample ratio of 0 (tests/loadtests/fake_traced_stage.py), and once against the
monolith started by the launcher, as the load runs start it.
"""

from __future__ import annotations

from pathlib import Path

from loadtests import representative
from loadtests.runner import Target, keep_representative, load_tracing, watched_stage
from tests.loadtests.fake_traced_stage import ORDER, fake_stage

SETTING = "TRACE_SAMPLE_RATIO=0.01"


def test_the_order_is_traced_whatever_the_stages_ratio_and_kept_in_a_file(tmp_path):
    traces = tmp_path / "traces"
    with fake_stage(traces) as (url, received):
        found = representative.place(url, "fake", traces, SETTING)

    assert found.reason is None, found.reason
    assert (found.order_id, found.outcome) == (ORDER, "confirmed")
    assert received[0]["lines"] == [{"sku": "TF-0002", "quantity": 1}]  # TF-0001 is sold out
    assert [s.name for s in found.spans] == ["POST /api/orders", "place order"]
    assert found.processes == ["fake-edge", "fake-worker"]
    assert {s.trace_id for s in found.spans} == {found.trace_id}
    # the edge span's parent is the caller's span, named by the traceparent
    assert found.spans[0].parent_id == found.caller_span_id
    assert found.spans[1].parent_id == found.spans[0].span_id

    representative.write(found, tmp_path)
    assert representative.read(tmp_path) == found


def test_spans_that_never_come_are_waited_for_then_said(tmp_path):
    with fake_stage(None) as (url, _):
        found = representative.place(url, "fake", tmp_path / "traces", SETTING, spans_timeout=0.3)

    assert found.order_id == ORDER and found.spans == []
    assert "no span of trace" in found.reason and "0.3 s" in found.reason


def test_a_missing_parent_makes_the_trace_incomplete(tmp_path):
    traces = tmp_path / "traces"
    with fake_stage(traces, skip_parent=True) as (url, _):
        found = representative.place(url, "fake", traces, SETTING, spans_timeout=0.5)

    assert [s.name for s in found.spans] == ["place order"]
    assert found.reason.startswith("incomplete: 1 span(s)")


def test_a_stage_not_started_here_has_its_spans_elsewhere(tmp_path):
    with fake_stage(tmp_path / "traces") as (url, _):
        found = representative.place(url, "fake", None, "as the running stage is set")

    assert found.outcome == "confirmed" and found.spans == []
    assert "not on this machine" in found.reason


def test_an_unreachable_stage_is_said(tmp_path):
    found = representative.place("http://127.0.0.1:9", "fake", tmp_path, SETTING)
    assert found.order_id is None and "could not be placed" in found.reason


def test_the_monolith_started_for_a_load_run_gets_a_representative_order(tmp_path):
    folder = tmp_path / "monolith"
    folder.mkdir()
    with watched_stage(Target("monolith"), folder) as stage:
        assert stage.traces is not None and stage.traces.name == "traces"
        keep_representative(stage, "monolith", folder)
    found = representative.read(folder)

    assert found.tracing == load_tracing() and "TRACE_SAMPLE_RATIO=" in found.tracing
    assert found.outcome == "confirmed", found.reason
    # Spans, once the stage traces its orders; until then, why not.
    assert found.spans or "no span of trace" in found.reason
    assert not found.missing_parents()
    assert all(s.trace_id == found.trace_id for s in found.spans)


def test_a_sampled_traceparent_is_w3c(tmp_path):
    headers, trace_id, span_id = representative.sampled_traceparent()
    assert headers == {"traceparent": f"00-{trace_id}-{span_id}-01"}


def test_reading_a_folder_without_a_trace_gives_none(tmp_path: Path):
    assert representative.read(tmp_path) is None
