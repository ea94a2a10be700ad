"""The step queue: each message is one bounded slice of a run, handed to the engine.

The producer (shared.runs.scheduler's StorageQueueScheduler) base64-encodes the message text and the host
base64-decodes it (host.json keeps the queue extension's default messageEncoding), so the body the
handler sees is the StepMessage JSON. A slice that raises goes back to the queue after host.json's
visibilityTimeout; after maxDequeueCount deliveries the host moves it to the poison queue, whose
trigger marks the run failed with the reason. The connection is the host's own storage,
`AzureWebJobsStorage`: a connection string, or identity-based through `AzureWebJobsStorage__queueServiceUri`
(with `AzureWebJobsStorage__credential` / `__clientId` for a user-assigned identity).
"""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.errors import InvalidRequest
from shared.functions.engine_provider import EngineProvider, EngineUnavailable, engines
from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine
    from shared.runs.scheduler.messages import StepMessage

logger = logging.getLogger(__name__)

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

# The producer's names (shared.runs.scheduler imports no storage SDK, so indexing stays cheap).
STEP_QUEUE = QUEUE_NAME
# The host moves a message that failed maxDequeueCount times to "<queue>-poison", i.e. this queue.
POISON_QUEUE = POISON_QUEUE_NAME
QUEUE_CONNECTION = "AzureWebJobsStorage"
# The host treats the poison queue as any other: a message its function fails on goes here, and no
# function reads it (it is kept for the operator; the run itself is resumed by the drift timer).
DEAD_LETTER_QUEUE = f"{POISON_QUEUE}-poison"
# Mirrors extensions.queues.maxDequeueCount in host.json (a test keeps the two equal).
MAX_DEQUEUE_COUNT = 5


@bp.queue_trigger(arg_name="msg", queue_name=STEP_QUEUE, connection=QUEUE_CONNECTION)
def replication_step(msg: func.QueueMessage) -> None:
    on_step_message(msg, engines)


@bp.queue_trigger(arg_name="msg", queue_name=POISON_QUEUE, connection=QUEUE_CONNECTION)
def replication_step_poison(msg: func.QueueMessage) -> None:
    on_poisoned_step_message(msg, engines)


def on_step_message(msg: func.QueueMessage, provider: EngineProvider) -> None:
    """Advance the message's run by one slice; raising hands the message back to the host for a retry."""
    step = read_step_message(msg)
    if step is None:
        return
    logger.info(
        "run %s of %s → %s: step %s (delivery %s)",
        step.run_id, step.project, step.target, step.step, msg.dequeue_count,
    )
    consequence = (
        f"run {step.run_id} of {step.project} → {step.target}: step {step.step!r} not advanced on delivery "
        f"{msg.dequeue_count or '?'} of {MAX_DEQUEUE_COUNT} (then the host moves it to {POISON_QUEUE})"
    )
    _engine(provider, consequence).advance(step)


def on_poisoned_step_message(msg: func.QueueMessage, provider: EngineProvider) -> None:
    """A slice failed on every delivery: fail its run with the reason instead of leaving it hanging.

    When the engine itself cannot be built (unusable settings, the usual reason every delivery failed),
    the run cannot be marked failed either. Nothing is lost: the run's state is in storage, this message
    is retried and then kept by the host in DEAD_LETTER_QUEUE, and once the settings are fixed the drift
    timer resumes the run as stalled.
    """
    step = read_step_message(msg)
    if step is None:
        return
    reason = (
        f"step {step.step!r} failed on each of its {MAX_DEQUEUE_COUNT} deliveries and the host moved it "
        f"to the {POISON_QUEUE} queue; the function log has each attempt's error (queue message id {msg.id})"
    )
    consequence = (
        f"run {step.run_id} of {step.project} → {step.target}: step {step.step!r} was poisoned but the run "
        f"cannot be marked failed (delivery {msg.dequeue_count or '?'} of {MAX_DEQUEUE_COUNT}, then the host "
        f"keeps the message in {DEAD_LETTER_QUEUE}). Nothing is lost: the run stays as stored, and once the "
        "setting is fixed the drift timer resumes it after RUN_STALL_TIMEOUT_MINUTES without progress "
        "(run the timer by hand to resume it at once)"
    )
    engine = _engine(provider, consequence)
    logger.error("run %s of %s → %s failed: %s", step.run_id, step.project, step.target, reason)
    engine.fail_poisoned(step, reason)


def read_step_message(msg: func.QueueMessage) -> "StepMessage | None":
    """The StepMessage in the body, or None (logged) when it is not one: retrying would not change that."""
    from shared.runs.scheduler.messages import StepMessage

    try:
        return StepMessage.from_text(msg.get_body())
    except InvalidRequest as error:
        logger.error("dropped queue message %s: not a step message (%s)", msg.id, error)
        return None


def _engine(provider: EngineProvider, consequence: str) -> "ReplicationEngine":
    try:
        return provider.get()
    except EngineUnavailable as error:
        logger.error("%s: %s", consequence, error)
        raise
