"""The Temporal floor's workflow: the early-return pattern with nothing of ours in it.

What `../shared/probes/temporal_floor.py` measures, as the bench's third target: started by
update-with-start, one no-op local activity, then the `book` update returns the answer it was
started with and the run completes. A booking's answer minus this one's is our code, not
Temporal. Kept apart from bench/floor.py so the worker's sandbox sees a module that imports
only the SDK, as a workflow module should.
"""

from datetime import timedelta

from temporalio import activity, workflow

FLOOR_TASK_QUEUE = "bench-floor"


@activity.defn(name="floor_noop")
async def noop(value: int) -> int:
    return value


@workflow.defn(name="FloorWorkflow")
class FloorWorkflow:
    def __init__(self) -> None:
        self._answer: str | None = None

    @workflow.run
    async def run(self, answer: str) -> str:
        await workflow.execute_local_activity(noop, 0, start_to_close_timeout=timedelta(seconds=5))
        self._answer = answer
        # The update's reply goes out with this task; the run ends once it has.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return answer

    @workflow.update
    async def book(self) -> str:
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer
