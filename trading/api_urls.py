from django.urls import path

from . import api, api_account, api_market_data, api_orders, api_resolutions, onchain

urlpatterns = [
    path("api-keys/", api.ApiKeyListApi.as_view(), name="api_api_keys"),
    path("api-keys/<str:key>/", api.ApiKeyDetailApi.as_view(), name="api_api_key"),
    path("accounts/proof/", onchain.ProofApi.as_view(), name="api_account_proof"),
    path("accounts/withdrawals/", onchain.WithdrawalListApi.as_view(), name="api_withdrawals"),
    path(
        "accounts/withdrawals/<str:withdrawal_id>/",
        onchain.WithdrawalDetailApi.as_view(),
        name="api_withdrawal",
    ),
    path(
        "accounts/withdrawals/<str:withdrawal_id>/proof/",
        onchain.WithdrawalProofApi.as_view(),
        name="api_withdrawal_proof",
    ),
    path(
        "accounts/withdrawals/<str:withdrawal_id>/claim/",
        onchain.WithdrawalClaimApi.as_view(),
        name="api_withdrawal_claim",
    ),
    path("revenue/", api.RevenueApi.as_view(), name="api_revenue"),
    # trading: orders and fills
    path("orders/", api_orders.OrderListApi.as_view(), name="api_orders"),
    path("orders/batch/", api_orders.OrderBatchApi.as_view(), name="api_orders_batch"),
    path("orders/cancel-all/", api_orders.CancelAllApi.as_view(), name="api_orders_cancel_all"),
    path("orders/open/", api_orders.OpenOrdersApi.as_view(), name="api_orders_open"),
    path("orders/history/", api_orders.OrderHistoryApi.as_view(), name="api_orders_history"),
    path("orders/<int:order_id>/", api_orders.OrderDetailApi.as_view(), name="api_order"),
    path("fills/", api_orders.FillListApi.as_view(), name="api_fills"),
    # the trader's accounts
    path("balances/", api_account.BalanceListApi.as_view(), name="api_balances"),
    path("positions/", api_account.PositionListApi.as_view(), name="api_positions"),
    path("holdings/", api_account.HoldingListApi.as_view(), name="api_holdings"),
    path("statement/", api_account.StatementApi.as_view(), name="api_statement"),
    path("transfers/", api_account.TransferListApi.as_view(), name="api_transfers"),
    path("faucet/", api_account.FaucetApi.as_view(), name="api_faucet"),
    # a prediction market's resolution
    path(
        "markets/<str:symbol>/resolution/",
        api_resolutions.ResolutionApi.as_view(),
        name="api_market_resolution",
    ),
    path(
        "markets/<str:symbol>/resolution/propose/",
        api_resolutions.ResolutionProposeApi.as_view(),
        name="api_market_resolution_propose",
    ),
    path(
        "markets/<str:symbol>/resolution/dispute/",
        api_resolutions.ResolutionDisputeApi.as_view(),
        name="api_market_resolution_dispute",
    ),
    path(
        "markets/<str:symbol>/resolution/decide/",
        api_resolutions.ResolutionDecideApi.as_view(),
        name="api_market_resolution_decide",
    ),
    path(
        "markets/<str:symbol>/resolution/approve/",
        api_resolutions.ResolutionApproveApi.as_view(),
        name="api_market_resolution_approve",
    ),
    # public market data
    path("books/<str:market>/", api_market_data.BookApi.as_view(), name="api_book"),
    path("trades/<str:market>/", api_market_data.TradeListApi.as_view(), name="api_trades"),
    path("candles/<str:market>/", api_market_data.CandleListApi.as_view(), name="api_candles"),
    path("tickers/", api_market_data.TickerListApi.as_view(), name="api_tickers"),
    path("tickers/<str:market>/", api_market_data.TickerApi.as_view(), name="api_ticker"),
    path("funding/<str:market>/", api_market_data.FundingHistoryApi.as_view(), name="api_funding"),
    path(
        "risk-groups/<slug:slug>/insurance-fund/",
        api_market_data.InsuranceFundApi.as_view(),
        name="api_insurance_fund",
    ),
    path(
        "risk-groups/<slug:slug>/insurance-fund/entries/",
        api_market_data.InsuranceEntryListApi.as_view(),
        name="api_insurance_fund_entries",
    ),
]
