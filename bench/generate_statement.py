"""Write a canonical statement CSV for the income bench: N lines for C creators, in time order.

    .venv/bin/python bench/generate_statement.py --lines 1000000 --creators 10000 --out bench/out/statement.csv

Creator i's account is `bench_dy_<i>` on Douyin. Sources rotate through live gifts, platform
revenue share and e-commerce commission; amounts 1.00–999.99 CNY; about 1 % of lines are partial
refunds (half) of a line of the same creator written earlier; the times spread over November 2026
with offsets. Fixed seed: the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
SOURCES = ("live_gifts", "platform_revenue_share", "ecommerce_commission")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out/statement.csv"))
    args = parser.parse_args()
    random.seed(20261126)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    seconds = 30 * 86400
    last_positive: dict[int, tuple[str, int]] = {}
    with args.out.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(args.lines):
            creator = random.randrange(args.creators)
            moment = n * seconds // args.lines
            day, rest = divmod(moment, 86400)
            stamp = f"2026-11-{day + 1:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}+08:00"
            earlier = last_positive.get(creator)
            if earlier is not None and random.random() < 0.01:
                original, amount = earlier
                del last_positive[creator]
                refund = -(amount // 2) or -1
                # Refunds carry the original's source: the engine splits them under its rule.
                source = SOURCES[int(original[2:]) % 3]
                out.write(
                    f"B-{n},{stamp},douyin,bench_dy_{creator},{source},"
                    f"-{-refund // 100}.{-refund % 100:02d},CNY,,{original},refund\n"
                )
                continue
            amount = random.randrange(100, 100_000)
            last_positive[creator] = (f"B-{n}", amount)
            out.write(
                f"B-{n},{stamp},douyin,bench_dy_{creator},{SOURCES[n % 3]},{amount // 100}.{amount % 100:02d},CNY,,,\n"
            )


if __name__ == "__main__":
    main()
