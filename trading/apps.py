from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The market's registry page shows its book, chart and order form, and the live
        # stream serves them: trading adds both here, so the registry imports nothing of it.
        from markets.pages import market_section_register

        from .live import topic_register
        from .live_topics import BOARD_TOPIC, HOLDINGS_TOPIC, PORTFOLIO_TOPIC, REGISTRY_TOPIC
        from .market_page import MARKET_TOPIC, MINE_TOPIC, market_section

        market_section_register(market_section)
        for topic in (
            MARKET_TOPIC,
            MINE_TOPIC,
            BOARD_TOPIC,
            HOLDINGS_TOPIC,
            PORTFOLIO_TOPIC,
            REGISTRY_TOPIC,
        ):
            topic_register(topic)
