import pytest

from shared.errors import InvalidRequest
from shared.runs.scheduler import StepMessage


def test_round_trip_keeps_every_field():
    message = StepMessage(run_id="r1", project="Loans", target="westus2", step="train:m1", fence=4)
    assert StepMessage.from_text(message.to_text()) == message
    assert StepMessage.from_text(message.to_text().encode()) == message


@pytest.mark.parametrize("text", ["not json", "[]", '{"run_id": "r"}',
                                  '{"run_id":"r","project":"p","target":"t","step":"s","fence":-1}',
                                  '{"run_id":"","project":"p","target":"t","step":"s","fence":1}'])
def test_malformed_messages_are_rejected_clearly(text):
    with pytest.raises(InvalidRequest):
        StepMessage.from_text(text)
