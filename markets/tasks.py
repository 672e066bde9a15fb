"""Scheduled registry work (Celery beat). Tasks are thin: they call one service."""

from celery import shared_task

from .services import markets_timers_run


@shared_task(name="markets.tasks.markets_timers", ignore_result=True)
def markets_timers() -> dict[str, int]:
    """Launches, prediction close times, parameter changes and delistings that are due."""
    return markets_timers_run()


@shared_task(name="markets.tasks.resolutions_settle", ignore_result=True)
def resolutions_settle() -> int:
    """Undisputed resolutions whose dispute window has lapsed settle by themselves."""
    from .resolutions import resolutions_settle_due

    return resolutions_settle_due()


@shared_task(name="markets.tasks.oracles_halt_stale", ignore_result=True)
def oracles_halt_stale() -> int:
    """Perpetuals whose oracle price grew older than their policy halt by themselves."""
    from .oracles import oracles_halt_stale as halt_stale

    return halt_stale()


@shared_task(name="markets.tasks.oracles_read_price_feeds", ignore_result=True)
def oracles_read_price_feeds() -> int:
    """Perpetuals whose oracle is the on-chain PriceFeed take each new round."""
    from .oracles import oracles_read_price_feeds as read_price_feeds

    return read_price_feeds()
