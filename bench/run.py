"""One bench run, start to finish: stack up, orgs, warm-up, every scenario, stack down."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.client import Client

from bench.breakdown import answer_breakdown
from bench.load import Phones, new_client
from bench.memory import PeakRss
from bench.report import check_targets, environment, machine_load
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
from bench.stack import running_stack

# Days ahead used by the contention scenarios: far from the latency levels' slots.
_SINGLE_SLOT_DAY, _OVERLAP_DAY = 300, 301


@dataclass(frozen=True)
class Options:
    levels: list[tuple[int, int]]  # (concurrency, requests)
    warmup: int
    keep: bool


async def run_bench(options: Options) -> dict[str, Any]:
    result: dict[str, Any] = {
        "environment": environment(),
        "started_at": _now(),
        "load_before": machine_load(),
        "options": {"levels": options.levels, "warmup": options.warmup},
    }
    async with running_stack(keep=options.keep) as stack:
        pool = await asyncpg.create_pool(stack.dsn, min_size=1, max_size=4)
        try:
            ours = await create_target(pool, "ours", stack.api_url)
            baseline = await create_target(pool, "baseline", stack.baseline_url)
            concurrency = max([CONTENTION_REQUESTS, *(c for c, _ in options.levels)])
            temporal = await Client.connect(stack.temporal_address)
            async with new_client(concurrency) as client:
                with PeakRss(stack.pids) as memory:
                    result |= await _scenarios(client, pool, temporal, ours, baseline, options)
            result["peak_rss_mib"] = {k: round(v, 1) for k, v in memory.peak_mib.items()}
        finally:
            await pool.close()
    result["finished_at"] = _now()
    result["load_after"] = machine_load()
    result["targets"] = check_targets(result)
    return result


async def _scenarios(
    client: Any,
    pool: asyncpg.Pool,
    temporal: Client,
    ours: Target,
    baseline: Target,
    options: Options,
) -> dict[str, Any]:
    phones = Phones()
    targets = (ours, baseline)
    # Warm-up, not counted: connections, pools, caches, the first workflow tasks.
    for target in targets:
        run = await latency_level(client, target, phones, requests=options.warmup, concurrency=5)
        if target is ours:
            await end_to_end(pool, ours, run)
    latency: list[dict[str, Any]] = []
    # Interleaved per level, so a change in the machine's load hits both sides alike.
    for concurrency, requests in options.levels:
        for target in targets:
            run = await latency_level(
                client, target, phones, requests=requests, concurrency=concurrency
            )
            entry = {"target": target.name, "concurrency": concurrency, **summarize(run)}
            if target is ours:
                # Also waits for phase 2 to drain, so the next level starts on a quiet worker.
                entry["end_to_end"] = await end_to_end(pool, ours, run)
                entry["breakdown"] = await answer_breakdown(temporal, ours.org_id, run)
            latency.append(entry)
            print(_progress(entry), flush=True)
    contention: dict[str, dict[str, Any]] = {}
    for target in targets:
        contention[target.name] = {
            "single_slot": await single_slot(
                client, pool, target, phones, contention_day(_SINGLE_SLOT_DAY)
            ),
            "overlapping": await overlapping(
                client, pool, target, phones, contention_day(_OVERLAP_DAY)
            ),
        }
        print(f"contention {target.name}: done", flush=True)
    await wait_until_settled(pool, ours.org_id)
    integrity = {t.name: await overlapping_pairs(pool, t.org_id) for t in targets}
    return {"latency": latency, "contention": contention, "integrity": integrity}


def _progress(entry: dict[str, Any]) -> str:
    return (
        f"{entry['target']:>8} c={entry['concurrency']:<3} n={entry['requests']:<5} "
        f"p50 {entry['p50_ms']} ms  p99 {entry['p99_ms']} ms  {entry['answers_per_s']}/s  "
        f"{entry['outcomes']}"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
