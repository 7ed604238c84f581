"""`python -m bench.sandboxes`: the Twilio and Google sandboxes in a process of their own.

`booking dev` runs them inside its own event loop; the bench runs them apart so that serving
Twilio and Google requests never delays the load generator's clock. Prints one JSON line
on stdout, `{"environment": {...}, "control": {"twilio": URL, "calendar": URL}}` (the children's
environment, and where each sandbox's `/_sandbox/` control API lives, for the bench's vendor
latency), then serves until SIGTERM or SIGINT.
"""

import asyncio
import json
import signal
import sys

from sandbox.runner import running_sandboxes


async def _serve() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_sandboxes() as sandboxes:
        control = {"twilio": sandboxes.twilio.base_url, "calendar": sandboxes.calendar.base_url}
        print(json.dumps({"environment": sandboxes.environment(), "control": control}), flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_serve())
    sys.exit(0)
