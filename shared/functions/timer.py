"""The daily drift timer: check drift, start runs for drifted projects, resume stalled runs.

The schedule is the `%DRIFT_SCHEDULE%` app setting (NCRONTAB with seconds, UTC). `use_monitor` keeps
the schedule's last run in storage so a restart does not skip a day; `run_on_startup` stays off so a
scale-out or restart never triggers an unplanned check. Two instances firing at once is harmless: the
engine's per-(target, project) run lock lets only one of them start a run.
"""

import json
import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.functions.engine_provider import EngineProvider, EngineUnavailable, engines
from shared.functions.telemetry import report_recovery_point_ages

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine, TickReport

logger = logging.getLogger(__name__)

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

DRIFT_SCHEDULE_EXPRESSION = "%DRIFT_SCHEDULE%"


@bp.timer_trigger(
    arg_name="timer", schedule=DRIFT_SCHEDULE_EXPRESSION, run_on_startup=False, use_monitor=True
)
def drift_timer(timer: func.TimerRequest) -> None:
    on_drift_timer(timer, engines)


def on_drift_timer(timer: func.TimerRequest, provider: EngineProvider) -> "TickReport":
    if timer.past_due:
        logger.warning(
            "the drift timer is past due (the app was stopped or busy at the scheduled time); checking now"
        )
    try:
        engine = provider.get()
    except EngineUnavailable as error:
        logger.error("drift check not run: %s", error)
        raise
    report = engine.timer_tick(past_due=timer.past_due)
    if report.drift is not None:
        report_recovery_point_ages(report.drift)
    logger.info("drift check done: %s", json.dumps(report.to_json(), ensure_ascii=False))
    _daily_upkeep(engine, report)
    _scheduled_drill(engine)
    return report


def _scheduled_drill(engine: "ReplicationEngine") -> None:
    """The DR drill every DRILL_EVERY_DAYS days; a failure here never undoes the tick."""
    try:
        drill = engine.scheduled_drill()
    except Exception:
        logger.exception("the scheduled DR drill could not run; the drift check stands")
        return
    if drill is not None:
        logger.info("DR drill done: %s", json.dumps(drill.to_json(), ensure_ascii=False, default=str))


def _daily_upkeep(engine: "ReplicationEngine", report: "TickReport") -> None:
    """Retention, expiry watch, removed projects and notifications; a failure here never undoes the tick."""
    from shared.recovery.upkeep import Maintenance  # deferred: storage and HTTP stacks load on first use

    try:
        upkeep = Maintenance(engine).run(report)
    except Exception:
        logger.exception("daily upkeep (retention, expiry, notifications) failed; the drift check stands")
        return
    logger.info("daily upkeep done: %s", json.dumps(upkeep.to_json(), ensure_ascii=False, default=str))
