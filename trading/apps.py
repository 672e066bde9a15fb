from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The market's registry page shows its book, chart and order form, and the live
        # stream serves them: trading adds both here, so the registry imports nothing of it.
        from markets.pages import market_section_register
        from xip_portal.errors import api_error_body_register

        from .live import topic_register
        from .live_topics import BOARD_TOPIC, HOLDINGS_TOPIC, PORTFOLIO_TOPIC, REGISTRY_TOPIC
        from .market_page import MARKET_TOPIC, MINE_TOPIC, market_section
        from .okx.envelope import okx_error_body
        from .risk_views import funding_section

        # errors answered before an /api/v5 view runs (refused characters, an unknown
        # path, the database unavailable) come in OKX's envelope too
        api_error_body_register("/api/v5/", okx_error_body)
        market_section_register(market_section)
        market_section_register(funding_section)
        for topic in (
            MARKET_TOPIC,
            MINE_TOPIC,
            BOARD_TOPIC,
            HOLDINGS_TOPIC,
            PORTFOLIO_TOPIC,
            REGISTRY_TOPIC,
        ):
            topic_register(topic)
