"""Benchmark of the engine core: commands/s and per-command latency for three mixes.

    .venv/bin/python bench/engine_core.py [--commands N] [--mix a,b,c] [--seed S]
                                          [--compiled build/engine-core]

Mixes (seeded, generated before timing):
  a  exchange-core's published mix on one spot book: 9% GTC, 3% IOC, 6% cancel, 82% move
     (amend to a new price), 1,000 accounts, about 1,000 resting orders;
  b  the 48 outcomes of the World Cup categorical prediction market: 60% GTC, 20% IOC,
     20% cancel, YES and NO on the merged books;
  c  five perpetual markets, cross-margin checks on every order: 45% GTC, 20% IOC,
     25% cancel, 10% amend, and a mark price command every 1,000 commands (each
     market's every 5,000).

Each stream is run through a fresh `Engine` in a plain loop for commands/s, and right
after it through the reference, `engine.core.reference_book.BareBook`: the engine's own
`Book` driven directly, with no accounts, reservations, fees, events or risk (a bare
price-time book). That pair is repeated (`--repeat`, default 3) and the medians are
printed, with the median of the pairs' engine/reference ratios: on a shared machine a
pair run back to back sees about the same load, so the ratio is steadier than either
rate. Then one more run of each times every command for p50/p99/p99.9. The last line is
one JSON object with every figure.

With `--compiled DIR` the engine and the bare book are imported from the mypyc build
made by `python -m engine.core_build DIR`; a build whose sources differ from the tree is
refused.
"""

import argparse
import gc
import importlib.util
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def use_compiled_build(argv: list[str]) -> None:
    """Put a current mypyc build of the engine core first on sys.path, before any
    import of it, or exit if the build is missing or stale."""
    if "--compiled" not in argv:
        return
    out = Path(argv[argv.index("--compiled") + 1]).resolve()
    spec = importlib.util.spec_from_file_location(
        "engine_core_build", ROOT / "engine/core_build.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit("engine/core_build.py is missing")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    hash_file = out / "SOURCE_HASH"
    if not hash_file.exists() or hash_file.read_text() != build.source_hash():
        raise SystemExit(f"{out} is missing or stale: run python -m engine.core_build {out}")
    sys.path.insert(0, str(out))


sys.path.insert(0, str(ROOT))
use_compiled_build(sys.argv)

from engine.core import (  # noqa: E402
    AddMarket,
    AmendOrder,
    CancelOrder,
    Command,
    Deposit,
    Engine,
    MarginTier,
    MarketConfig,
    MarketKind,
    OraclePrice,
    Outcome,
    PlaceOrder,
    Side,
    TimeInForce,
)
from engine.core.book import Order  # noqa: E402
from engine.core.reference_book import BareBook  # noqa: E402

BUY, SELL = Side.BUY, Side.SELL
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
ACCOUNTS = 1_000
WORLD_CUP_TEAMS = (
    "ARG BRA FRA ENG ESP GER POR NED BEL CRO URU COL MEX USA CAN JPN KOR AUS MAR SEN "
    "NGA EGY GHA CMR TUN ALG CIV SUI DEN SWE NOR POL SRB AUT ITA ECU PER CHI PAR IRN "
    "KSA QAT UZB JOR NZL CRC PAN JAM"
).split()


class Resting:
    """Open orders of the generator's shadow book, for picking one at random in O(1)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.index: dict[int, int] = {}

    def add(self, order_id: int) -> None:
        self.index[order_id] = len(self.ids)
        self.ids.append(order_id)

    def discard(self, order_id: int) -> None:
        position = self.index.pop(order_id, None)
        if position is None:
            return
        last = self.ids.pop()
        if last != order_id:
            self.ids[position] = last
            self.index[last] = position

    def pick(self, rng: random.Random) -> int:
        return self.ids[rng.randrange(len(self.ids))]


class Generator:
    """Builds a stream while running it through a shadow bare book, so cancels and moves
    name orders that are really resting."""

    def __init__(self, payouts: dict[str, int], seed: int) -> None:
        self.rng = random.Random(seed)
        self.shadow = BareBook(payouts)
        self.resting = Resting()
        self.commands: list[Command] = []

    def emit(self, command: Command) -> None:
        self.commands.append(command)
        before = self.shadow.next_order_id
        for maker, _ in self.shadow.apply(command):
            if not maker.size or maker.level is None:
                self.resting.discard(maker.order_id)
        if type(command) is PlaceOrder and before in self.shadow.orders:
            self.resting.add(before)
        elif type(command) is CancelOrder:
            self.resting.discard(command.order_id)
        elif type(command) is AmendOrder and command.order_id not in self.shadow.orders:
            self.resting.discard(command.order_id)

    def order(self, order_id: int) -> Order:
        return self.shadow.orders[order_id]


def funding_commands(assets: Sequence[tuple[str, int]]) -> list[Command]:
    return [
        Deposit(account, asset, amount, f"{asset}-{account}")
        for account in range(1, ACCOUNTS + 1)
        for asset, amount in assets
    ]


# ------------------------------------------------------------------ mixes


def mix_exchange_core(n: int, seed: int) -> tuple[list[Command], list[Command]]:
    market = "BTC-USDC"
    config = MarketConfig(
        market, MarketKind.SPOT, "USDC", base_asset="BTC", maker_fee_bps=-1, taker_fee_bps=5
    )
    setup: list[Command] = [AddMarket(config)]
    setup += funding_commands([("USDC", 10**15), ("BTC", 10**12)])
    gen = Generator({market: 0}, seed)
    rng = gen.rng
    center = 100_000

    def gtc(ts: int) -> PlaceOrder:
        buy = rng.random() < 0.5
        offset = rng.randint(1, 300)
        price = center - offset if buy else center + offset
        return PlaceOrder(
            rng.randint(1, ACCOUNTS), market, BUY if buy else SELL, rng.randint(1, 100),
            price=price, ts=ts,
        )  # fmt: skip

    for _ in range(1_000):
        gen.emit(gtc(0))
    setup += gen.commands
    gen.commands = []
    for i in range(n):
        ts = i
        roll = rng.random()
        if roll < 0.82 and gen.resting.ids:
            order = gen.order(gen.resting.pick(rng))
            # moves lean toward the other side (and trade) when the book holds more
            # than about 1,000 orders, away from it when fewer
            toward = min(0.9, max(0.1, 0.5 + (len(gen.resting.ids) - 1_000) / 400))
            step = rng.randint(1, 20) if rng.random() < toward else -rng.randint(1, 20)
            price = max(order.price + (step if order.is_bid else -step), 1)
            gen.emit(AmendOrder(order.account, order.order_id, price=price, ts=ts))
        elif roll < 0.88 and gen.resting.ids:
            order = gen.order(gen.resting.pick(rng))
            gen.emit(CancelOrder(order.account, order.order_id, ts=ts))
        elif roll < 0.91:
            buy = rng.random() < 0.5
            price = center + 400 if buy else center - 400
            gen.emit(
                PlaceOrder(
                    rng.randint(1, ACCOUNTS), market, BUY if buy else SELL, rng.randint(1, 50),
                    price=price, tif=IOC, ts=ts,
                )
            )  # fmt: skip
        else:
            gen.emit(gtc(ts))
        # keep the book centred where it trades
        book = gen.shadow.books[market]
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is not None and best_ask is not None:
            center = (best_bid + best_ask) // 2
    return setup, gen.commands


def mix_world_cup(n: int, seed: int) -> tuple[list[Command], list[Command]]:
    payout, tick = 1_000_000, 10_000
    config = MarketConfig(
        "WC26", MarketKind.PREDICTION, "USDC", tick_size=tick, payout=payout,
        maker_fee_bps=0, taker_fee_bps=20, deployer_share_bps=2_000,
        close_ts=10**15, dispute_window_ms=86_400_000, outcomes=tuple(WORLD_CUP_TEAMS),
    )  # fmt: skip
    markets = [f"WC26:{team}" for team in WORLD_CUP_TEAMS]
    setup: list[Command] = [AddMarket(config)]
    setup += funding_commands([("USDC", 10**15)])
    gen = Generator(dict.fromkeys(markets, payout), seed)
    rng = gen.rng
    fair = {market: rng.randint(2, 60) for market in markets}  # in ticks
    for i in range(n):
        roll = rng.random()
        if roll < 0.2 and gen.resting.ids:
            order = gen.order(gen.resting.pick(rng))
            gen.emit(CancelOrder(order.account, order.order_id, ts=i))
            continue
        market = markets[rng.randrange(len(markets))]
        outcome = Outcome.YES if rng.random() < 0.6 else Outcome.NO
        buy = rng.random() < 0.5
        yes_ticks = fair[market]
        ticks = yes_ticks if outcome is Outcome.YES else 100 - yes_ticks
        if roll < 0.4:  # IOC: aggressive
            ticks += 3 if buy else -3
            tif = IOC
        else:  # GTC: mostly passive, now and then marketable
            ticks += -rng.randint(-2, 5) if buy else rng.randint(-2, 5)
            tif = GTC
        ticks = min(max(ticks, 1), 99)
        gen.emit(
            PlaceOrder(
                rng.randint(1, ACCOUNTS), market, BUY if buy else SELL, rng.randint(1, 200),
                price=ticks * tick, tif=tif, outcome=outcome, ts=i,
            )
        )  # fmt: skip
    return setup, gen.commands


def mix_perps(n: int, seed: int) -> tuple[list[Command], list[Command]]:
    tiers = (
        MarginTier(10**12, 500, 250),
        MarginTier(10**13, 1_000, 500),
        MarginTier(10**15, 2_000, 1_000),
    )
    markets = ["BTC-PERP", "ETH-PERP", "SOL-PERP", "XRP-PERP", "DOGE-PERP"]
    setup: list[Command] = []
    for market in markets:
        setup.append(
            AddMarket(
                MarketConfig(
                    market, MarketKind.PERP, "USDC", maker_fee_bps=-1, taker_fee_bps=5,
                    margin_tiers=tiers, funding_interval_ms=3_600_000, funding_cap_ppm=750,
                    liquidation_fee_bps=50, price_band_bps=1_000,
                )
            )
        )  # fmt: skip
    setup += funding_commands([("USDC", 10**12)])
    gen = Generator(dict.fromkeys(markets, 0), seed)
    rng = gen.rng
    index = {market: rng.randint(1_000, 50_000) for market in markets}
    for market in markets:
        setup.append(OraclePrice(market, index[market]))
    for i in range(n):
        ts = i * 10  # ten ms per command: funding comes due during a long run
        if i % 1_000 == 999:
            market = markets[(i // 1_000) % len(markets)]
            index[market] = max(index[market] + rng.randint(-20, 20), 100)
            gen.emit(OraclePrice(market, index[market], ts=ts))
            continue
        roll = rng.random()
        if roll < 0.25 and gen.resting.ids:
            order = gen.order(gen.resting.pick(rng))
            gen.emit(CancelOrder(order.account, order.order_id, ts=ts))
            continue
        if roll < 0.35 and gen.resting.ids:
            order = gen.order(gen.resting.pick(rng))
            price = max(order.price + rng.randint(-5, 5), 1)
            gen.emit(AmendOrder(order.account, order.order_id, price=price, ts=ts))
            continue
        market = markets[rng.randrange(len(markets))]
        buy = rng.random() < 0.5
        mark = index[market]
        if roll < 0.55:
            price, tif = (mark + mark // 200 if buy else mark - mark // 200), IOC
        else:
            spread = rng.randint(-mark // 400, mark // 100)
            price, tif = (mark - spread if buy else mark + spread), GTC
        size = rng.randint(1, 100) if tif is GTC else rng.randint(1, 50)
        gen.emit(
            PlaceOrder(
                rng.randint(1, ACCOUNTS), market, BUY if buy else SELL, size,
                price=price, tif=tif, ts=ts,
            )
        )  # fmt: skip
    return setup, gen.commands


MIXES: dict[str, tuple[str, Callable[[int, int], tuple[list[Command], list[Command]]]]] = {
    "a": ("exchange-core mix, one spot book", mix_exchange_core),
    "b": ("World Cup prediction, 48 outcomes", mix_world_cup),
    "c": ("perpetuals, 5 markets, cross margin", mix_perps),
}


# ------------------------------------------------------------------ timing


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    samples_ns.sort()
    count = len(samples_ns)

    def at(q: float) -> float:
        return round(samples_ns[min(int(q * count), count - 1)] / 1_000, 2)

    return {"p50_us": at(0.50), "p99_us": at(0.99), "p999_us": at(0.999)}


def run(apply: Callable[[Any], Any], commands: list[Command]) -> dict[str, float]:
    """Commands/s from a plain loop over the stream."""
    gc.collect()
    gc.freeze()
    start = time.perf_counter_ns()
    for command in commands:
        apply(command)
    elapsed = time.perf_counter_ns() - start
    gc.unfreeze()
    return {"commands_per_s": round(len(commands) * 1e9 / elapsed)}


def run_timed(apply: Callable[[Any], Any], commands: list[Command]) -> dict[str, float]:
    """Latency of each command (the clock read itself, ~50 ns, included)."""
    clock = time.perf_counter_ns
    samples = [0] * len(commands)
    gc.collect()
    gc.freeze()
    for i, command in enumerate(commands):
        start = clock()
        apply(command)
        samples[i] = clock() - start
    gc.unfreeze()
    return percentiles(samples)


def fresh_engine(setup: list[Command]) -> Engine:
    engine = Engine("bench", "USDC")
    engine.apply_batch(setup)
    return engine


def fresh_reference(setup: list[Command], payouts: dict[str, int]) -> BareBook:
    reference = BareBook(payouts)
    for command in setup:
        reference.apply(command)
    return reference


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def bench_mix(key: str, n: int, seed: int, repeat: int) -> dict[str, Any]:
    title, build = MIXES[key]
    started = time.perf_counter()
    setup, commands = build(n, seed)
    generated_in = time.perf_counter() - started
    probe = fresh_engine(setup)
    payouts = {m: (c.config.payout) for m, c in probe.markets.items()}
    counts: dict[str, int] = {}
    events = probe.apply_batch(commands)
    for event in events:
        name = type(event).__name__
        counts[name] = counts.get(name, 0) + 1
    resting = len(probe.orders)
    del probe, events
    engine_rates, reference_rates, ratios = [], [], []
    for _ in range(repeat):
        engine_rates.append(run(fresh_engine(setup).apply, commands)["commands_per_s"])
        reference_rates.append(
            run(fresh_reference(setup, payouts).apply, commands)["commands_per_s"]
        )
        ratios.append(engine_rates[-1] / reference_rates[-1])
    engine_latency = run_timed(fresh_engine(setup).apply, commands)
    reference_latency = run_timed(fresh_reference(setup, payouts).apply, commands)
    result = {
        "mix": key,
        "title": title,
        "commands": len(commands),
        "engine": {"commands_per_s": round(median(engine_rates)), **engine_latency},
        "reference": {"commands_per_s": round(median(reference_rates)), **reference_latency},
        "engine_vs_reference": round(median(ratios), 3),
        "runs": {"engine": engine_rates, "reference": reference_rates},
        "fills": counts.get("Fill", 0),
        "rejected": counts.get("Rejected", 0),
        "resting_at_end": resting,
        "generated_in_s": round(generated_in, 1),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--mix", default="a,b,c")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="engine/reference pairs per mix")
    parser.add_argument("--compiled", metavar="DIR", help="use the mypyc build in DIR")
    args = parser.parse_args()
    results = []
    for key in args.mix.split(","):
        result = bench_mix(key.strip(), args.commands, args.seed, args.repeat)
        results.append(result)
        engine, reference = result["engine"], result["reference"]
        print(f"mix {key}: {result['title']}, {result['commands']:,} commands")
        print(
            f"  engine     {engine['commands_per_s']:>10,} commands/s   p50 {engine['p50_us']} us"
            f"   p99 {engine['p99_us']} us   p99.9 {engine['p999_us']} us"
        )
        print(
            f"  bare book  {reference['commands_per_s']:>10,} commands/s   "
            f"p50 {reference['p50_us']} us   p99 {reference['p99_us']} us"
            f"   p99.9 {reference['p999_us']} us"
        )
        print(
            f"  engine/bare {result['engine_vs_reference']} (median of {args.repeat} pairs)"
            f"   fills {result['fills']:,}"
            f"   rejected {result['rejected']:,}   resting at end {result['resting_at_end']:,}"
        )
        sys.stdout.flush()
    import engine.core.engine as engine_module

    summary = {
        "python": platform.python_version(),
        "compiled": not (engine_module.__file__ or "").endswith(".py"),
        "goal_commands_per_s": 300_000,
        "goal_p99_us": 20,
        "mixes": results,
    }
    print(json.dumps(summary, separators=(",", ":")))


if __name__ == "__main__":
    main()
