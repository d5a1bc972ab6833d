"""The in-process feed runner sizes its batches by time (projections.activity.runner): each step
is sized from the last one's cost per record to take about STEP_SECONDS, so the GIL is never
held for long while the event loop serves tokens."""

from __future__ import annotations

from projections.activity.runner import MIN_BATCH, STEP_SECONDS, next_batch_size


def test_sized_to_the_step_time_at_the_last_cost_per_record() -> None:
    per_record = 20e-6
    size = next_batch_size(per_record * 500, 500, largest=500)
    assert size == int(STEP_SECONDS / per_record)
    # The size it gives, at the same cost, takes about STEP_SECONDS.
    assert abs(size * per_record - STEP_SECONDS) <= per_record


def test_bounded_both_ways() -> None:
    assert next_batch_size(10.0, 10, largest=500) == MIN_BATCH  # very slow records
    assert next_batch_size(1e-9, 500, largest=500) == 500  # very cheap ones: no more than asked
    assert next_batch_size(0.0, 0, largest=300) == 300  # nothing measured: the largest
