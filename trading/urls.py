from django.urls import path

from . import live, market_views, onchain, risk_views, views

urlpatterns = [
    path("world-cup/", views.world_cup, name="world_cup"),
    path("markets/<str:symbol>/board/", views.outcome_board, name="outcome_board"),
    path("markets/<str:symbol>/board/buy/", views.board_buy, name="board_buy"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio/fills.csv", views.portfolio_fills_csv, name="portfolio_fills_csv"),
    path("portfolio/transfer/", views.portfolio_transfer, name="portfolio_transfer"),
    path("portfolio/faucet/", views.portfolio_faucet, name="portfolio_faucet"),
    path("revenue/", views.revenue, name="revenue"),
    path("stream/", live.stream, name="live_stream"),
    path(
        "markets/<str:symbol>/orders/", market_views.market_order_place, name="market_order_place"
    ),
    path(
        "markets/<str:symbol>/orders/preview/",
        market_views.market_order_preview,
        name="market_order_preview",
    ),
    path(
        "markets/<str:symbol>/orders/<int:order_id>/cancel/",
        market_views.market_order_cancel,
        name="market_order_cancel",
    ),
    path(
        "markets/<str:symbol>/orders/<int:order_id>/amend/",
        market_views.market_order_amend,
        name="market_order_amend",
    ),
    path("account/api-keys/", views.api_keys, name="api_keys"),
    path("account/api-keys/<str:key>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("account/funds/", onchain.funds, name="funds"),
    path(
        "account/funds/withdrawals/<str:withdrawal_id>/claim/",
        onchain.withdrawal_claim_view,
        name="withdrawal_claim",
    ),
    path("account/verify-balance/", onchain.verify_balance, name="verify_balance"),
    path("settlement/<slug:slug>/", onchain.settlement, name="settlement"),
    path(
        "risk-groups/<slug:slug>/insurance-fund/",
        risk_views.insurance_fund_page,
        name="insurance_fund",
    ),
]
