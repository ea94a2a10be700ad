from datetime import timedelta

from shared.clock import FakeClock
from shared.runs.scheduler import InMemoryScheduler, StepMessage


def message(step: str, fence: int = 0) -> StepMessage:
    return StepMessage("r", "p", "t", step, fence)


def test_delivers_in_due_order_and_moves_the_fake_clock():
    clock = FakeClock()
    start = clock.now()
    scheduler = InMemoryScheduler(clock)
    scheduler.schedule(message("late"), timedelta(minutes=5))
    scheduler.schedule(message("early"), timedelta(seconds=1))
    seen = []
    scheduler.run_until_idle(lambda m: seen.append((m.step, clock.now() - start)))
    assert seen == [("early", timedelta(seconds=1)), ("late", timedelta(minutes=5))]


def test_handler_may_schedule_more_work():
    scheduler = InMemoryScheduler(FakeClock())
    scheduler.schedule(message("s", 0), timedelta(0))

    def handler(m: StepMessage) -> None:
        if m.fence < 3:
            scheduler.schedule(message("s", m.fence + 1), timedelta(seconds=10))

    assert scheduler.run_until_idle(handler) == 4


def test_failing_message_is_retried_then_poisoned_with_the_reason():
    scheduler = InMemoryScheduler(FakeClock(), max_dequeue_count=3)
    scheduler.schedule(message("boom"), timedelta(0))
    calls = []

    def handler(m: StepMessage) -> None:
        calls.append(m)
        raise RuntimeError("service said no")

    poisoned = []
    scheduler.run_until_idle(handler, lambda m, reason: poisoned.append(reason))
    assert len(calls) == 3
    assert poisoned == ["RuntimeError: service said no"]
