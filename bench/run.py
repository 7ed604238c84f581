"""One bench run, start to finish: stack up, orgs, warm-up, every scenario, stack down."""

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from bench.breakdown import answer_breakdown
from bench.cpu import CpuClock
from bench.environment import environment, machine_load
from bench.floor import floor_workflow_id
from bench.history import history_sample
from bench.load import Phones, Run, booking_id, new_client
from bench.memory import PeakRss
from bench.scenarios import (
    CONTENTION_REQUESTS,
    Target,
    contention_day,
    create_target,
    end_to_end,
    latency_level,
    overlapping,
    overlapping_pairs,
    single_slot,
    summarize,
    wait_until_settled,
)
from bench.stack import Stack, running_stack
from bench.targets import check_targets, ratios
from bench.vendors import Fired, describe, vendor_latency
from core.domain.ids import booking_workflow_id

# Days ahead used by the contention scenarios: far from the latency levels' slots.
_SINGLE_SLOT_DAY, _OVERLAP_DAY = 300, 301
# The level whose bookings are sampled for history events: c=10 when it is run.
_HISTORY_LEVEL = 10


@dataclass(frozen=True)
class Options:
    levels: list[tuple[int, int]]  # (concurrency, requests)
    vendor_levels: list[tuple[int, int]]  # the same, run with and without vendor latency
    warmup: int
    keep: bool
    history_sample: int
    compare: dict[str, Any] | None  # an earlier result, for the history-events target


@dataclass
class _Bench:
    """What every scenario uses."""

    clients: dict[str, httpx.AsyncClient]  # one per target, so no target's connections evict
    # another's: each keeps a warm connection per concurrent caller from level to level
    pool: asyncpg.Pool
    temporal: Client
    cpu: CpuClock
    stack: Stack
    phones: Phones

    async def level(
        self, target: Target, *, requests: int, concurrency: int
    ) -> tuple[Run, dict[str, Any]]:
        """One latency level on `target`: the run, and its summary with the CPU it cost."""
        with self.cpu.measure() as cpu:
            run = await latency_level(
                self.clients[target.name],
                target,
                self.phones,
                requests=requests,
                concurrency=concurrency,
            )
        return run, {**summarize(run), "cpu_s": cpu.seconds}


async def run_bench(options: Options) -> dict[str, Any]:
    result: dict[str, Any] = {
        "environment": environment(),
        "started_at": _now(),
        "load_before": machine_load(),
        "options": {
            "levels": options.levels,
            "vendor_levels": options.vendor_levels,
            "warmup": options.warmup,
            "history_sample": options.history_sample,
        },
    }
    if options.compare is not None:
        result["compare"] = options.compare
    async with running_stack(keep=options.keep) as stack:
        pool = await asyncpg.create_pool(stack.dsn, min_size=1, max_size=4)
        try:
            ours = await create_target(pool, "ours", stack.api_url)
            floor = await create_target(pool, "floor", stack.floor_url, writes_bookings=False)
            baseline = await create_target(pool, "baseline", stack.baseline_url)
            # Connections for the most concurrent callers any scenario has, so none waits for one.
            levels = [*options.levels, *options.vendor_levels]
            concurrency = max([CONTENTION_REQUESTS, *(c for c, _ in levels)])
            temporal = await Client.connect(stack.temporal_address)
            # Postgres's RSS summed over its backends would count shared buffers once each.
            sampled = {k: v for k, v in stack.pids.items() if k != "postgres"}
            async with contextlib.AsyncExitStack() as clients:
                by_target = {
                    t.name: await clients.enter_async_context(new_client(concurrency))
                    for t in (ours, floor, baseline)
                }
                with PeakRss(sampled) as memory:
                    cpu = CpuClock(stack.pids)
                    bench = _Bench(by_target, pool, temporal, cpu, stack, Phones())
                    result |= await _scenarios(bench, ours, floor, baseline, options)
            result["peak_rss_mib"] = {k: round(v, 1) for k, v in memory.peak_mib.items()}
        finally:
            await pool.close()
    result["finished_at"] = _now()
    result["load_after"] = machine_load()
    result["targets"] = check_targets(result)
    return result


async def _scenarios(
    bench: _Bench, ours: Target, floor: Target, baseline: Target, options: Options
) -> dict[str, Any]:
    targets = (ours, floor, baseline)
    # Warm-up, not counted: connections, pools, caches, the first workflow tasks.
    for target in targets:
        run, _ = await bench.level(target, requests=options.warmup, concurrency=5)
        if target is ours:
            await end_to_end(bench.pool, ours, run)
    latency: list[dict[str, Any]] = []
    runs: dict[tuple[str, int], Run] = {}
    # Interleaved per level, so a change in the machine's load hits every target alike.
    for concurrency, requests in options.levels:
        level: dict[str, dict[str, Any]] = {}
        for target in targets:
            run, summary = await bench.level(target, requests=requests, concurrency=concurrency)
            runs[target.name, concurrency] = run
            entry = {"target": target.name, "concurrency": concurrency, **summary}
            if target is ours:
                # Also waits for phase 2 to drain, so the next run starts on a quiet worker.
                with bench.cpu.measure() as draining:
                    entry["end_to_end"] = await end_to_end(bench.pool, ours, run)
                entry["cpu_s_phase2_drain"] = draining.seconds
                entry["breakdown"] = await answer_breakdown(bench.temporal, ours.org_id, run)
            level[target.name] = entry
            latency.append(entry)
            print(_progress(entry), flush=True)
        level["ours"]["vs"] = {
            other: ratios(level["ours"], level[other]) for other in ("baseline", "floor")
        }
    vendor = await _realistic_vendor(bench, ours, options.vendor_levels)
    contention: dict[str, dict[str, Any]] = {}
    for target in targets:
        contention[target.name] = {}
        for name, run_scenario, day in (
            ("single_slot", single_slot, _SINGLE_SLOT_DAY),
            ("overlapping", overlapping, _OVERLAP_DAY),
        ):
            with bench.cpu.measure() as cpu:
                summary = await run_scenario(
                    bench.clients[target.name],
                    bench.pool,
                    target,
                    bench.phones,
                    contention_day(day),
                )
            contention[target.name][name] = {**summary, "cpu_s": cpu.seconds}
        print(f"contention {target.name}: done", flush=True)
    for scenario in ("single_slot", "overlapping"):
        contention["ours"][scenario]["vs"] = {
            other: ratios(contention["ours"][scenario], contention[other][scenario])
            for other in ("baseline", "floor")
        }
    await wait_until_settled(bench.pool, ours.org_id)
    history = await _history(bench, ours, runs, options)
    integrity = {t.name: await overlapping_pairs(bench.pool, t.org_id) for t in (ours, baseline)}
    return {
        "latency": latency,
        "realistic_vendor": vendor,
        "contention": contention,
        "history": history,
        "integrity": integrity,
    }


async def _realistic_vendor(
    bench: _Bench, ours: Target, levels: list[tuple[int, int]]
) -> dict[str, Any]:
    """Each level twice on ours, back to back: without, then with the vendors' latency; the
    answer should not move, the time to confirmed shows phase 2 at vendor speed."""
    runs: list[dict[str, Any]] = []
    for concurrency, requests in levels:
        pair: dict[bool, dict[str, Any]] = {}
        for with_latency in (False, True):
            entry: dict[str, Any] = {"concurrency": concurrency, "vendor_latency": with_latency}
            delays = (
                vendor_latency(bench.stack.sandbox_control)
                if with_latency
                else contextlib.nullcontext(Fired(counts={}))
            )
            async with delays as fired:
                run, summary = await bench.level(ours, requests=requests, concurrency=concurrency)
                entry |= summary
                entry["end_to_end"] = await end_to_end(bench.pool, ours, run)
            entry["vendor_requests_delayed"] = fired.counts
            pair[with_latency] = entry
            runs.append(entry)
            print(f"{'vendors' if with_latency else 'no delay':>8} " + _progress(entry), flush=True)
        pair[True]["answer_p50_moved_ms"] = round(pair[True]["p50_ms"] - pair[False]["p50_ms"], 1)
        pair[True]["answer_p99_moved_ms"] = round(pair[True]["p99_ms"] - pair[False]["p99_ms"], 1)
    return {"latency_ms": describe(), "runs": runs}


async def _history(
    bench: _Bench, ours: Target, runs: dict[tuple[str, int], Run], options: Options
) -> dict[str, Any]:
    """History counts of confirmed bookings (ours) and of floor runs, from one level."""
    levels = [c for c, _ in options.levels]
    level = _HISTORY_LEVEL if _HISTORY_LEVEL in levels else levels[0]
    ids = [booking_id(ours.org_id, a.call) for a in runs["ours", level].booked]
    rows = await bench.pool.fetch(
        "SELECT id FROM bookings WHERE id = ANY($1) AND status = 'confirmed'", ids
    )
    confirmed = [booking_workflow_id(row["id"]) for row in rows][: options.history_sample]
    floor_booked = runs["floor", level].booked[: options.history_sample]
    floor_ids = [floor_workflow_id(a.call.id) for a in floor_booked]
    return {
        "concurrency": level,
        "ours": await history_sample(bench.temporal, confirmed),
        "floor": await history_sample(bench.temporal, floor_ids),
    }


def _progress(entry: dict[str, Any]) -> str:
    return (
        f"{entry.get('target', 'ours'):>8} c={entry['concurrency']:<3} n={entry['requests']:<5} "
        f"p50 {entry['p50_ms']} ms  p99 {entry['p99_ms']} ms  {entry['answers_per_s']}/s  "
        f"{entry['outcomes']}"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
