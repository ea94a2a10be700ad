"""The benchmark's table: one row per figure, printed as text and written as Markdown beside the JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    figure: str
    measure: str
    value: str
    target: str = "-"
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("yes" if self.met else "**no**")

    def to_json(self) -> dict[str, Any]:
        return {"figure": self.figure, "measure": self.measure, "value": self.value, "target": self.target,
                "met": self.met}


def _mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def _requests(counts: dict[str, dict[str, int]]) -> str:
    authoring = counts.get("authoring", {})
    runtime = counts.get("runtime", {})
    writes = sum(v for k, v in authoring.items() if k != "GET")
    text = f"{authoring.get('GET', 0)} GET, {writes} POST/PUT"
    if runtime:
        text += f" (+ runtime {runtime.get('POST', 0)} POST, {runtime.get('GET', 0)} GET)"
    return text


def _by_kind(kinds: dict[str, dict[str, float]]) -> str:
    return ", ".join(f"{kind} {entry['seconds']:.2f} s" for kind, entry in kinds.items()) or "none"


def _polls(jobs: list[dict[str, Any]]) -> str:
    parts = [f"{job['step']} {job['polls']}" + (f" ({job['pollsPerServiceMinute']:.1f}/min)"
                                                 if job["pollsPerServiceMinute"] is not None else "")
             for job in jobs]
    return ", ".join(parts) or "none"


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items()) or "none"


def rows(figures: dict[str, Any]) -> list[Row]:
    """The table's rows, from the figures' JSON."""
    table: list[Row] = []
    overhead = figures["overhead"]
    table.append(Row("1", f"Replication overhead ratio: wall time / service job time (time scale "
                          f"{overhead['timeScale']})",
                     f"{overhead['ratio']:.3f} ({overhead['wallSeconds']:.1f} s / "
                     f"{overhead['serviceJobSeconds']:.1f} s)",
                     f"<= {overhead['ratioTarget']}", overhead["ratio"] <= overhead["ratioTarget"]))
    table.append(Row("1", "Lag from a job finishing to the next step starting (max; mean)",
                     f"{overhead['maxLagSeconds']:.2f} s; {overhead['meanLagSeconds']:.2f} s",
                     f"<= {overhead['lagTargetSeconds']:.0f} s",
                     overhead["maxLagSeconds"] <= overhead["lagTargetSeconds"]))
    clu = overhead.get("clu")
    if clu:
        table.append(Row("1", f"CLU replication overhead ratio: wall time / service job time (time scale "
                              f"{clu['timeScale']}, {clu['utterances']} utterances)",
                         f"{clu['ratio']:.3f} ({clu['wallSeconds']:.1f} s / "
                         f"{clu['serviceJobSeconds']:.1f} s)",
                         f"<= {clu['ratioTarget']}", clu["ratio"] <= clu["ratioTarget"]))
    estimate = overhead.get("atServiceTimes")
    if estimate:
        table.append(Row("1", "Same run at the service's real job times (replicator seconds as measured)",
                         f"{estimate['ratio']:.3f} ({estimate['serviceJobSeconds']:.0f} s of jobs)",
                         f"<= {overhead['ratioTarget']}", estimate["ratio"] <= overhead["ratioTarget"]))
    table.append(Row("1", "Replicator's own seconds per step kind (inside its slices)",
                     _by_kind(overhead.get("replicatorSecondsByStepKind", {}))))
    table.append(Row("1", "Polls per job (and per minute of the job's service time)",
                     _polls(overhead.get("pollsPerJob", []))))
    economy = figures["apiEconomy"]
    for check in [*economy["dailyCheck"], economy["manyResources"]]:
        resources = int(check["resources"])
        where = f"{resources} resources x {check['projects']}" if resources > 2 else str(check["projects"])
        per_resource = check["getsPerResource"]
        table.append(Row("2", f"Daily check of {where} in-sync project(s), a day between full passes: "
                              "authoring requests (most on one resource)",
                         f"{check['authoringGets']} GET, {check['authoringPosts']} POST "
                         f"({max(per_resource.values())} GET per resource)",
                         f"<= {check['getsPerResourceTarget']} GET per resource", bool(check["met"])))
        full = check["fullPass"]
        table.append(Row("2", f"The same check on a full-pass day (every DRIFT_FULL_CHECK_DAYS), {where} "
                              "project(s)",
                         f"{full['authoringGets']} GET, {full['authoringPosts']} POST"))
    table.append(Row("2", "One full replication: requests to both regions",
                     _requests(economy["perReplication"]["requests"])))
    if clu:
        table.append(Row("2", "One CLU replication: requests to both regions", _requests(clu["requests"])))
    unchanged = economy["noContentChange"]
    table.append(Row("2", "Jobs submitted to the secondary by a run with no content change",
                     f"{unchanged['secondaryJobs']} (primary: {_kinds(unchanged['primaryJobKinds'])})",
                     "0", unchanged["secondaryJobs"] == 0))
    scale = figures["scale"]
    drift = scale["driftCheck"]
    table.append(Row("3", f"Drift check of a {drift['projects']}-project resource, a day between full passes",
                     f"{drift['seconds']:.1f} s, {drift['authoringGets']} GET, "
                     f"{drift['authoringPosts']} POST (full pass: {drift['fullPass']['seconds']:.1f} s, "
                     f"{drift['fullPass']['authoringGets']} GET)"))
    memory = scale["memory"]
    fixed = memory["fixed"]
    fitted = " and ".join(f"{documents:,}" for documents in fixed["fittedOver"])
    table.append(Row("3", f"Replication memory, fixed part: peak at zero export on the line through {fitted} "
                          "documents",
                     f"{_mib(fixed['bytes'])} (+ {fixed['perExportByte']:.2f} x the export)",
                     f"<= {_mib(fixed['targetBytes'])}", bool(fixed["met"])))
    for size in memory["sizes"]:
        table.append(Row("3", f"Replication of a {size['documents']:,}-document project whose documents the "
                              "target holds: (peak above baseline - fixed part) / export size",
                         f"{size['growingRatio']:.2f}x (({_mib(size['peakAboveBaselineBytes'])} - "
                         f"{_mib(fixed['bytes'])}) / {_mib(size['exportBytes'])}), "
                         f"{size['replicationSeconds']:.0f} s",
                         f"<= {size['ratioTarget']:.0f}x", bool(size["met"])))
    copy = scale["documentsCopy"]
    table.append(Row("3", f"Documents step copying {copy['documents']:,} documents / Azurite's "
                          "start_copy_from_url loop (seconds)",
                     f"{copy['ratio']:.2f} ({copy['replicatorSeconds']:.1f} s / "
                     f"{copy['baselineSeconds']:.1f} s; {copy['replicatorDocumentsPerSecond']:.0f} vs "
                     f"{copy['baselineDocumentsPerSecond']:.0f} "
                     "documents/s)"))
    failover = figures["failover"]
    healthy = failover["healthyPath"]
    table.append(Row("4", "Failover client vs SDK alone, healthy path (median call)",
                     f"{healthy['ratio']['median']:.3f} ({healthy['overheadMsPerCall']['median']:+.2f} ms "
                     "per call)"))
    dies = failover["primaryDies"]
    moved = dies["secondsUntilTrafficMoved"]
    table.append(Row("4", "Primary dies: time until traffic moves; calls failed",
                     f"{moved:.2f} s; {dies['failedCallsTotal']} failed" if moved is not None
                     else f"never moved; {dies['failedCallsTotal']} failed",
                     "0 failed", moved is not None and dies["failedCallsTotal"] == 0))
    page = figures["statusPage"]
    value = (f"{page['cpuMedianSeconds']:.2f} s ({page['medianSeconds']:.2f} s), "
             f"{page['pageBytes'] / 2**20:.1f} MiB")
    table.append(Row("6", f"Status page of {page['projects']} projects: model + HTML on the server, CPU "
                          "(wall) median", value,
                     f"<= {page['targetSeconds']:.0f} s", page["cpuMedianSeconds"] <= page["targetSeconds"]))
    if page.get("browserMedianSeconds") is not None:
        table.append(Row("6", "The same page opened in headless Chromium until the verdict is read (median)",
                         f"{page['browserMedianSeconds']:.2f} s"))
    cold = figures["coldStart"]
    table.append(Row("5", "Cold start: import function_app / import azure.functions + azure.storage.blob",
                     f"{cold['ratio']:.2f} ({cold['functionAppMedianMs']:.0f} ms / "
                     f"{cold['sdkBaselineMedianMs']:.0f} ms)"))
    return table


def text_table(table: list[Row]) -> str:
    headers = ("#", "Measure", "Value", "Target", "Met")
    cells = [headers] + [(r.figure, r.measure, r.value, r.target, r.verdict.strip("*")) for r in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(table: list[Row]) -> str:
    lines = ["| # | Measure | Value | Target | Met |", "|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.measure} | {r.value} | {r.target} | {r.verdict} |" for r in table]
    return "\n".join(lines)


def markdown(result: dict[str, Any], table: list[Row]) -> str:
    environment = result["environment"]
    parts = [
        f"# Benchmark results ({'tiny' if result['tiny'] else 'full'} run)",
        "",
        f"Measured {result['measuredAt']} on {environment['platform']}, Python {environment['python']}, "
        f"{environment['cpus']} CPUs; the whole run took {result['durationSeconds']:.0f} s.",
        "",
        markdown_table(table),
        "",
        "## How each figure was measured",
        "",
    ]
    for name, figure in result["figures"].items():
        parts.append(f"- **{name}**: {figure['method']}")
    azure = result["figures"]["overhead"].get("inAzure")
    if azure:
        parts += ["", "## In Azure", "", azure["text"]]
    return "\n".join(parts) + "\n"
