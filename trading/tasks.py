"""Scheduled work of the trading room: the demo's market maker (the embedded default's beat
schedule runs it in `serve_demo`'s scheduler thread, one cycle at a time, between the other
scheduled tasks; in production an operator runs `manage.py market_maker`)."""

from __future__ import annotations

from celery import shared_task

from .market_maker import MarketMaker

# the demo's maker, made at the first cycle: its random walks go on from cycle to cycle
_demo_maker: list[MarketMaker] = []


@shared_task(name="trading.tasks.demo_market_maker_cycle")
def demo_market_maker_cycle() -> int:
    """One cycle of the demo's market maker; the commands it submitted."""
    from .demo import demo_market_maker

    if not _demo_maker:
        _demo_maker.append(demo_market_maker())
    return sum(_demo_maker[0].cycle().values())
