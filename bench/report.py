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
    economy = figures["apiEconomy"]
    for check in economy["dailyCheck"]:
        table.append(Row("2", f"Daily check of {check['projects']} in-sync project(s): authoring requests",
                         f"{check['authoringGets']} GET, {check['authoringPosts']} POST "
                         f"({check['getsPerProject']:.2f} GET per project)"))
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
    table.append(Row("3", f"Drift check of a {drift['projects']}-project resource",
                     f"{drift['seconds']:.1f} s, {drift['authoringGets']} GET, "
                     f"{drift['authoringPosts']} POST"))
    large = scale["largeProject"]
    table.append(Row("3", f"Replication of a {large['documents']:,}-document project: peak memory above "
                          "baseline / export size",
                     f"{large['ratio']:.1f}x ({_mib(large['peakAboveBaselineBytes'])} / "
                     f"{_mib(large['exportBytes'])}), {large['replicationSeconds']:.0f} s",
                     f"<= {large['ratioTarget']:.0f}x", large["ratio"] <= large["ratioTarget"]))
    maximum = large.get("atServiceMaximum")
    if maximum:
        table.append(Row("3", f"The same at {maximum['documents']:,} documents, from the growth between "
                              f"{large['smaller']['documents']:,} and {large['documents']:,} (estimate)",
                         f"{maximum['ratio']:.1f}x ({_mib(maximum['peakAboveBaselineBytes'])} / "
                         f"{_mib(maximum['exportBytes'])})",
                         f"<= {large['ratioTarget']:.0f}x", maximum["ratio"] <= large["ratioTarget"]))
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
