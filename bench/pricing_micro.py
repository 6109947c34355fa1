"""What pricing costs per request: catalog load, a lookup, a cost, and a log row with and without cost.

    .venv/bin/python bench/pricing_micro.py

Prints a Markdown table of medians over 5 runs (microseconds per operation). The log row is built by
the logs writer's task, not on the request path; the plugin itself only stores a reference.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import msgspec

from bifrost.plugins.logging.record import PendingLog
from bifrost.pricing import Catalog
from bifrost.schemas.inference import CHAT, InferenceRequest, Target, Usage


def per_op_us(fn: Callable[[], object], n: int) -> float:
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    load_ms = per_op_us(Catalog.load, 20) / 1000
    c = Catalog.load()
    usage = Usage(input_tokens=1200, output_tokens=300, cached_read_tokens=800, reasoning_tokens=100)
    req = InferenceRequest(request_type=CHAT, target=Target("openai", "gpt-4o"),
                           body={"messages": [{"role": "user", "content": "hello"}]})
    body = msgspec.json.encode({"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                             "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                                          "prompt_tokens_details": {"cached_tokens": 800}}})

    def row(catalog: Catalog | None) -> Callable[[], object]:
        def build() -> object:
            p = PendingLog("id", None, 1, req, "openai", "gpt-4o", 0, True)
            p.body = body
            p.catalog = catalog
            return p.row()
        return build

    miss = iter(range(10**9))
    rows = [
        ("Catalog.load() (shipped, 2000 models), ms", load_ms),
        ("price() memo hit", per_op_us(lambda: c.price("openai", "gpt-4o"), 200_000)),
        ("price() first lookup of a new name (normalisation, a miss)",
         per_op_us(lambda: c._resolve("bedrock", f"eu.anthropic.claude-x-{next(miss)}"), 50_000)),
        ("cost() (lookup + formula)", per_op_us(lambda: c.cost("openai", "gpt-4o", usage), 200_000)),
        ("log row without catalog", per_op_us(row(None), 50_000)),
        ("log row with cost", per_op_us(row(c), 50_000)),
    ]
    print("| operation | µs |\n|---|---:|")
    for name, v in rows:
        print(f"| {name} | {v:.2f} |")


if __name__ == "__main__":
    main()
