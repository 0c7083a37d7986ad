"""The projection as text tables for the terminal; every line says "projected"."""

from __future__ import annotations

from loadtests.projection.demand import StageDemand
from loadtests.projection.steady import StageProjection
from loadtests.projection.timeline import StageTimeline

SOURCES = (
    "algorithms of the Kubernetes 'Horizontal Pod Autoscaling' docs (HPA) and the Knative "
    "'Autoscaling' docs (KPA), the parameters of `kubectl kustomize k8s/{stage}`"
)


def _row(cells: list[str], widths: list[int]) -> str:
    first, *rest = cells
    right = [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
    return "  ".join([first.ljust(widths[0]), *right])


def steady_table(projection: StageProjection, demand: StageDemand) -> str:
    """Replicas, requested cores and memory per workload at the target load."""
    head = [
        "workload", "scaler", "replicas", "needs", "proc/pod", "req cores", "req MiB", "used cores"
    ]  # fmt: skip
    rows = [
        [
            w.name,
            w.scaler,
            str(w.replicas),
            str(w.needed),
            str(w.processes_per_pod),
            f"{w.requested_cores:.3f}",
            f"{w.requested_memory_mib:.0f}",
            f"{w.used_cores:.3f}",
            w.note,
        ]
        for w in projection.workloads
    ]
    total = [
        "total",
        "",
        str(projection.replicas),
        str(sum(w.needed for w in projection.workloads)),
        "",
        f"{projection.requested_cores:.3f}",
        f"{projection.requested_memory_mib:.0f}",
        f"{projection.used_cores:.3f}",
        "",
    ]
    widths = [max(len(r[i]) for r in [head, *rows, total]) for i in range(len(head))]
    lines = [
        f"projected: {projection.stage} at {projection.factor:g}x the run's "
        f"{demand.measured_rps:.1f} req/s = {projection.load_rps:.1f} req/s "
        f"({projection.orders_per_s:.2f} orders/s)",
        f"projected from the CPU figures of: {demand.source or 'the command line'}",
        "projected with the " + SOURCES.format(stage=projection.stage),
        "projected  " + _row(head, widths),
    ]
    for row in rows:
        note = f"  {row[-1]}" if row[-1] else ""
        lines.append("projected  " + _row(row[:-1], widths) + note)
    lines.append("projected  " + _row(total[:-1], widths))
    requested = projection.requested_core_seconds_per_1000_orders
    needed = projection.needed_core_seconds_per_1000_orders
    used = projection.used_core_seconds_per_1000_orders
    lines.append(
        f"projected core-seconds per 1,000 orders: {requested:.1f} requested, "
        f"{needed:.1f} requested without the maximums, {used:.1f} used"
    )
    if projection.needed_cores > projection.requested_cores + 1e-9:
        lines.append(
            f"projected: the maximums cap it; without them {projection.needed_cores:.3f} "
            "cores requested"
        )
    if projection.unplaced:
        lines.append(
            f"projected: no workload in k8s/{projection.stage} for the run's "
            f"{', '.join(projection.unplaced)} (left out)"
        )
    return "\n".join(lines)


def timeline_table(timeline: StageTimeline, shape: str, measured_start: bool) -> str:
    """Each workload's replicas where they change, its cold starts and panics."""
    start = "the cold start given" if measured_start else "assumed: no cold start given"
    lines = [
        f"projected replicas over time: {timeline.stage}, shape {shape}, peak "
        f"{timeline.peak_rps:.1f} req/s, {len(timeline.rates)} s; a new pod serves after "
        f"{timeline.start_s:.1f} s ({start})",
    ]
    width = max(len(w.name) for w in timeline.workloads)
    for line in timeline.workloads:
        changes = " ".join(f"{second}s:{count}" for second, count in line.changes())
        extra = []
        if line.cold_starts:
            extra.append("cold starts at " + ", ".join(f"{s}s" for s in line.cold_starts))
        if line.panics:
            extra.append("panic " + ", ".join(f"{a:.0f}-{b:.0f}s" for a, b in line.panics))
        if line.saturated_s:
            extra.append(f"{line.saturated_s} s short of pods")
        tail = f"  [{'; '.join(extra)}]" if extra else ""
        lines.append(f"projected  {line.name.ljust(width)}  {line.scaler:5}  {changes}{tail}")
    lines.append(f"projected core-seconds requested over the shape: {timeline.core_seconds:.0f}")
    return "\n".join(lines)
