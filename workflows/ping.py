"""A trivial workflow the worker registers so its task queue can be proven live end to end."""

from temporalio import workflow


@workflow.defn
class PingWorkflow:
    """Returns "pong"; no signals, updates or queries."""

    @workflow.run
    async def run(self) -> str:
        return "pong"
